import GraftPickle
import GraftTestSupport
import XCTest

/// PickleWriter → PickleMachine gives back the value, for hand-picked and generated values.
final class PickleRoundTripTests: XCTestCase {
    private func roundTrip(_ value: PickleValue, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = try PickleWriter().encode(value)
        let (decoded, end) = try PickleMachine(allowedGlobals: torchGlobals).decode(bytes)
        XCTAssertEqual(decoded, value, file: file, line: line)
        XCTAssertEqual(end, bytes.count, file: file, line: line)
    }

    func testScalarsAtTheirEncodingBoundaries() throws {
        let edges = [
            0, 1, 255, 256, 65535, 65536, -1, -256, Int(Int32.max), Int(Int32.min), Int(Int32.max) + 1,
            Int(Int32.min) - 1, Int.max, Int.min,
        ]
        for v in edges { try roundTrip(.int(v)) }
        for bytes: [UInt8] in [
            [0, 0, 0, 0, 0, 0, 0, 0x80, 0], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF],
            [UInt8](repeating: 0x11, count: 300),
        ] {
            try roundTrip(.bigInt(bytes))  // 300 bytes takes LONG4
        }
        for d in [
            0.0, -0.0, 1.5, -Double.leastNormalMagnitude / 4, .greatestFiniteMagnitude, .infinity, -.infinity,
        ] { try roundTrip(.float(d)) }
        for s in [
            "", "a", "caf\u{e9}", "e\u{301}", "\u{0}\n\u{1B}", "\u{1F642}",
            String(repeating: "z", count: 70_000),
        ] {
            try roundTrip(.string(s))
        }
        for b: [UInt8] in [[], [0], Array(0...255)] { try roundTrip(.bytes(b)) }
        try roundTrip(.bool(true))
        try roundTrip(.bool(false))
        try roundTrip(.none)
    }

    func testContainersObjectsAndTorchRecords() throws {
        try roundTrip(.tuple([]))
        try roundTrip(.tuple(ints([1, 2, 3, 4, 5, 6])))
        try roundTrip(.list(ints(Array(0..<2500))))  // three APPENDS batches
        try roundTrip(.set([.string("a"), .int(1), .tuple([.none])]))
        try roundTrip(
            .dict([
                PickleDictEntry(key: .tuple([.int(1), .string("x")]), value: .list([])),
                PickleDictEntry(key: .bytes([1]), value: .dict([])),
            ]))
        try roundTrip(.global(module: "torch", name: "FloatStorage"))
        try roundTrip(.call(module: "torch", name: "Size", args: [.tuple(ints([2, 3]))]))
        try roundTrip(
            .built(
                .call(module: "torch._utils", name: "_rebuild_parameter", args: [.none]),
                state: .dict([entry("requires_grad", .bool(false))])))
        try roundTrip(
            .persistentID(.tuple([.string("storage"), .global(module: "torch", name: "HalfStorage")])))
        try roundTrip(PickleGoldenTests.convBatchNormStateDict)
        try roundTrip(PickleGoldenTests.nested)
    }

    /// The one deliberate asymmetry: an OrderedDict call is written as a call and read as a dict.
    func testOrderedDictCallsComeBackAsDicts() throws {
        let bytes = try PickleWriter().encode(.call(module: "collections", name: "OrderedDict", args: []))
        XCTAssertEqual(try PickleMachine(allowedGlobals: dataGlobals).decode(bytes).value, .dict([]))
    }

    /// 300 generated values of every data kind, nested up to five levels.
    func testGeneratedValues() throws {
        var generator = ValueGenerator(seed: 0x5EED)
        for _ in 0..<300 { try roundTrip(generator.value(depth: 5)) }
    }
}

/// A deterministic generator of `PickleValue`s that the machine reads back unchanged (unique,
/// hashable dict keys; no NaN, which is not equal to itself; bigInts in minimal form).
private struct ValueGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407  // Knuth's MMIX LCG
        return Int(truncatingIfNeeded: (state >> 33) % UInt64(bound))
    }

    mutating func scalar() -> PickleValue {
        switch next(8) {
        case 0: return .none
        case 1: return .bool(next(2) == 1)
        case 2: return .int([0, 255, 65536, -7, Int.min, Int.max, 1 << 40][next(7)] &+ next(3))
        case 3: return .bigInt([UInt8](repeating: 0x55, count: 9 + next(20)))
        case 4: return .float(Double(next(1 << 20)) / 64 - 8000)
        case 5: return .string(text())
        case 6: return .bytes((0..<next(40)).map { _ in UInt8(truncatingIfNeeded: next(256)) })
        default: return .global(module: "torch", name: "Size")
        }
    }

    mutating func text() -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<next(12) {
            let v = [UInt32(next(128)), 0xE9, 0x2713, 0x1F642, UInt32(0x20 + next(0xD000))][next(5)]
            if let scalar = Unicode.Scalar(v) { s.append(scalar) }
        }
        return String(s)
    }

    mutating func value(depth: Int) -> PickleValue {
        guard depth > 0, next(3) > 0 else { return scalar() }
        let count = next(5)
        switch next(7) {
        case 0: return .tuple((0..<count).map { _ in value(depth: depth - 1) })
        case 1: return .list((0..<count).map { _ in value(depth: depth - 1) })
        case 2: return .set((0..<count).map { i in .tuple([.int(i), .string(text())]) })
        case 3:
            return .dict(
                (0..<count).map { i in
                    PickleDictEntry(
                        key: next(2) == 0 ? .string("k\(i)") : .int(i), value: value(depth: depth - 1))
                })
        case 4:
            return .call(
                module: "torch", name: "Size", args: (0..<count).map { _ in value(depth: depth - 1) })
        case 5: return .built(.call(module: "torch", name: "Size", args: []), state: value(depth: depth - 1))
        default: return .persistentID(value(depth: depth - 1))
        }
    }
}
