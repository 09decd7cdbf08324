import Foundation
import GraftPickle
import GraftTestSupport
import XCTest

/// The writer against CPython's own bytes, and its torch-readable state dict fixture.
final class PickleWriterTests: XCTestCase {
    /// `WRITER_VALUE` of tools/make_pickle_fixtures.py.
    static let writerValue: PickleValue = .dict([
        entry(
            "ints",
            .list(
                ints([
                    0, 255, 256, 65535, 65536, -1, -2_147_483_648, 2_147_483_647, 2_147_483_648,
                    -2_147_483_649, Int.max, Int.min,
                ]))),
        entry(
            "big", .list([.bigInt([0, 0, 0, 0, 0, 0, 0, 0, 1]), .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0xC0])])),
        entry("floats", .list([.float(0.5), .float(-1e-300), .float(.infinity)])),
        entry("text", .list([.string(""), .string("caf\u{e9} \u{2713}")])),
        entry("bytes", .bytes([0x00, 0x80, 0xFF, 0x7A])),
        entry("flags", .list([.bool(true), .bool(false), .none])),
        entry(
            "tuples",
            .list([
                .tuple([]), .tuple(ints([1])), .tuple(ints([1, 2])), .tuple(ints([1, 2, 3])),
                .tuple(ints([1, 2, 3, 4, 5])),
            ])),
        entry("one", .list(ints([7]))),
        entry("long_list", .list(ints(Array(0...1000)))),
        entry("wide", .dict((0..<1003).map { entry(String($0), .int($0)) })),
    ])

    /// Byte for byte what CPython 3.11 writes at protocol 2 with memoization off: int widths,
    /// BINFLOAT, bytes through `_codecs.encode`, tuple opcodes, batches of 1000 (a list of one
    /// item takes APPEND; a last batch of one still takes MARK … APPENDS).
    func testWriterMatchesCPythonProtocol2Bytes() throws {
        let expected = try fixtureBytes("writer_fast_p2.pkl")
        let written = try PickleWriter().encode(Self.writerValue)
        XCTAssertEqual(written.count, expected.count)
        let firstDifference = zip(written, expected).enumerated().first { $0.element.0 != $0.element.1 }?
            .offset
        XCTAssertNil(firstDifference, "first differing byte")
        XCTAssertTrue(written == expected)
        XCTAssertEqual(try PickleMachine(allowedGlobals: dataGlobals).decode(written).value, Self.writerValue)
    }

    /// A state dict the way Graft's export writes it: an OrderedDict of `_rebuild_tensor_v2`
    /// records over persistent storage ids. `tools/make_pickle_fixtures.py` zips this fixture with
    /// two storages and loads it with `torch.load(weights_only=True)`.
    static let stateDict: PickleValue = .call(
        module: "collections", name: "OrderedDict",
        args: [
            .list([
                .tuple([
                    .string("fc.weight"),
                    tensor("FloatStorage", key: "0", numel: 6, size: [2, 3], stride: [3, 1]),
                ]),
                .tuple([
                    .string("bn.num_batches_tracked"),
                    tensor("LongStorage", key: "1", numel: 1, size: [], stride: []),
                ]),
            ])
        ])

    static func tensor(_ storage: String, key: String, numel: Int, size: [Int], stride: [Int]) -> PickleValue
    {
        .call(
            module: "torch._utils", name: "_rebuild_tensor_v2",
            args: [
                .persistentID(
                    .tuple([
                        .string("storage"), .global(module: "torch", name: storage), .string(key),
                        .string("cpu"), .int(numel),
                    ])),
                .int(0), .tuple(ints(size)), .tuple(ints(stride)), .bool(false),
                .call(module: "collections", name: "OrderedDict", args: []),
            ])
    }

    /// Regenerate with `GRAFT_WRITE_PICKLE_FIXTURES=1 swift test --filter PickleWriterTests`, then run
    /// the generator script to check it with torch.
    func testStateDictMatchesTheTorchCheckedFixture() throws {
        let written = try PickleWriter().encode(Self.stateDict)
        let path = TestPaths.fixture("pickle/writer_state_dict.pkl")
        if ProcessInfo.processInfo.environment["GRAFT_WRITE_PICKLE_FIXTURES"] == "1" {
            try Data(written).write(to: URL(fileURLWithPath: path))
        }
        XCTAssertEqual(written, try fixtureBytes("writer_state_dict.pkl"))
        // Read back, OrderedDict(pairs) is a dict and the empty backward-hooks OrderedDict is too.
        let decoded = try PickleMachine(allowedGlobals: torchGlobals).decode(written).value
        guard let entries = decoded.dictEntries, entries.count == 2,
            case .call(_, "_rebuild_tensor_v2", let args) = entries[0].value
        else { return XCTFail("unexpected \(decoded.kindDescription)") }
        XCTAssertEqual(entries.map(\.key), [.string("fc.weight"), .string("bn.num_batches_tracked")])
        XCTAssertEqual(args.last, .dict([]))
    }

    func testUnrepresentableValuesAreErrors() {
        XCTAssertThrowsError(try PickleWriter().encode(.global(module: "os\nx", name: "y"))) { error in
            XCTAssertEqual(
                error as? PickleWriterError,
                .unrepresentable("global name \"os\\nx\" is empty or has a newline"))
        }
        XCTAssertThrowsError(try PickleWriter().encode(.call(module: "", name: "f", args: [])))
    }

    func testSmallValuesHaveTheirExactEncodings() throws {
        XCTAssertEqual(try PickleWriter().encode(.none), [0x80, 0x02, 0x4E, 0x2E])
        XCTAssertEqual(try PickleWriter().encode(.int(-1)), [0x80, 0x02, 0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E])
        XCTAssertEqual(
            try PickleWriter().encode(.int(1 << 40)), [0x80, 0x02, 0x8A, 6, 0, 0, 0, 0, 0, 1, 0x2E])
        XCTAssertEqual(
            try PickleWriter().encode(.persistentID(.string("k"))),
            [0x80, 0x02, 0x58, 1, 0, 0, 0, 0x6B, 0x51, 0x2E])
        XCTAssertEqual(
            try PickleWriter().encode(.built(.none, state: .none)), [0x80, 0x02, 0x4E, 0x4E, 0x62, 0x2E])
    }
}
