import Foundation
import GraftTestSupport
import XCTest

import GraftCore

final class DTypeTests: XCTestCase {
    func testEveryDTypeRoundTripsThroughEachSpelling() {
        for d in DType.allCases {
            XCTAssertEqual(DType(safetensorsName: d.safetensorsName), d)
            XCTAssertEqual(DType(torchStorageName: d.torchStorageName), d)
            XCTAssertEqual(DType(torchDTypeName: d.torchDTypeName), d)
        }
        XCTAssertNil(DType(safetensorsName: "F8_E4M3"))
        XCTAssertNil(DType(torchStorageName: "ComplexFloatStorage"))
        XCTAssertEqual(DType.bfloat16.itemSize, 2)
        XCTAssertEqual(DType.bool.itemSize, 1)
    }
}

final class CheckedMathTests: XCTestCase {
    func testOverflowAndNegativeDimensionsAreNil() {
        XCTAssertEqual(Checked.elementCount([2, 3, 4]), 24)
        XCTAssertEqual(Checked.elementCount([]), 1)
        XCTAssertEqual(Checked.elementCount([2, 0]), 0)
        XCTAssertNil(Checked.elementCount([2, -1]))
        XCTAssertNil(Checked.elementCount([1 << 40, 1 << 40]))
        XCTAssertNil(Checked.byteCount([Int.max / 2 + 1], itemSize: 4))
        XCTAssertNil(Checked.int(UInt64.max))
    }
}

final class ByteReaderTests: XCTestCase {
    func testReadsLittleAndBigEndianAndRefusesOverruns() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x0A]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertEqual(try r.u16LE(), 0x0201)
            XCTAssertEqual(try r.u16LE(), 0x0403)
            XCTAssertEqual(try r.f64BE(), 1.0)
            XCTAssertThrowsError(try r.u32LE()) { error in
                XCTAssertEqual(error as? ByteReaderError, .outOfRange(offset: 12, length: 4, available: 13))
            }
            XCTAssertEqual(try r.u8(), 0x0A)
            XCTAssertTrue(r.isAtEnd)
            XCTAssertThrowsError(try r.skip(-1))
        }
    }

    func testLineStopsAtTerminatorWithinLimit() throws {
        let bytes = Array("torch\nFloatStorage\n".utf8)
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertEqual(String(decoding: try r.line(maxLength: 10), as: UTF8.self), "torch")
            XCTAssertThrowsError(try r.line(maxLength: 5))
        }
    }
}

final class ElementConversionTests: XCTestCase {
    func testHalfAndBFloat16WidenExactly() {
        // 1.0, -2.0, 65504 (max), smallest subnormal, +inf
        let halves: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00]
        let expected: [Float] = [1, -2, 65504, 5.9604645e-8, .infinity]
        for (h, e) in zip(halves, expected) { XCTAssertEqual(ElementConversion.float(fromHalfBits: h), e) }
        XCTAssertTrue(ElementConversion.float(fromHalfBits: 0x7E00).isNaN)
        // Cross-check every finite half against Swift's Float16.
        for bits in UInt16.min...UInt16.max {
            let f16 = Float16(bitPattern: bits)
            if f16.isNaN { continue }
            XCTAssertEqual(ElementConversion.float(fromHalfBits: bits), Float(f16), "bits \(bits)")
        }
        let bf: [UInt16] = [0x3F80, 0xC049]  // 1.0, -3.140625
        let data = ByteBuffer(bf.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        let t = try! RawTensor(dtype: .bfloat16, shape: [2], data: data)
        XCTAssertEqual(t.floatValues(), [1.0, -3.140625])
    }

    func testByteSwap() {
        var bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        bytes.withUnsafeMutableBytes { ElementConversion.swapByteOrder($0, itemSize: 4) }
        XCTAssertEqual(bytes, [4, 3, 2, 1, 8, 7, 6, 5])
    }

    func testRawTensorRefusesMismatchedByteCount() {
        XCTAssertThrowsError(try RawTensor(dtype: .float32, shape: [3], data: ByteBuffer([0, 0, 0, 0])))
        XCTAssertThrowsError(try RawTensor(dtype: .float32, shape: [-1], data: ByteBuffer([])))
    }
}

final class NpyTests: XCTestCase {
    func testRoundTripAndHeaderForms() throws {
        for shape in [[3], [2, 3], [1, 2, 2, 1], []] {
            let n = Checked.elementCount(shape)!
            let a = NpyArray(shape: shape, values: (0..<n).map { Float($0) * 0.5 - 1 })
            let bytes = a.npyBytes()
            XCTAssertEqual((bytes.count - a.values.count * 4) % 64, 0, "data aligned to 64")
            let b = try bytes.withUnsafeBytes { try NpyArray(npyBytes: $0) }
            XCTAssertEqual(a, b)
        }
    }

    func testRejectsOtherDTypesAndTruncation() throws {
        let good = NpyArray(shape: [2], values: [1, 2]).npyBytes()
        var f8 = good
        let descr = Array("'<f4'".utf8)
        let at = (0...(good.count - descr.count)).first { Array(good[$0..<$0 + descr.count]) == descr }!
        f8[at + 3] = UInt8(ascii: "8")
        XCTAssertThrowsError(try f8.withUnsafeBytes { try NpyArray(npyBytes: $0) }) {
            XCTAssertEqual($0 as? NpyError, .unsupportedDType("<f8"))
        }
        XCTAssertThrowsError(try Array(good.dropLast()).withUnsafeBytes { try NpyArray(npyBytes: $0) })
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 20).withUnsafeBytes { try NpyArray(npyBytes: $0) })
    }

    func testReadsNumpyWrittenReferenceWhenPresent() throws {
        guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
        let a = try NpyArray(contentsOfFile: shared.appendingPathComponent("resnet50_logits.npy").path)
        XCTAssertEqual(a.shape, [3, 1000])
        XCTAssertTrue(a.values.allSatisfy { $0.isFinite })
    }
}

final class FileTests: XCTestCase {
    func testAtomicWriterLeavesNothingUnlessCommitted() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dest = dir.appendingPathComponent("out.bin").path
        do {
            let w = try AtomicFileWriter(destination: dest)
            try w.write([1, 2, 3])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        let w = try AtomicFileWriter(destination: dest)
        try w.write([1, 2, 3])
        try w.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"])
        let m = try MappedFile(path: dest)
        XCTAssertEqual(Array(m.bytes), [1, 2, 3])
        XCTAssertEqual(try m.buffer(offset: 1, count: 2).array, [2, 3])
        XCTAssertThrowsError(try m.buffer(offset: 2, count: 2))
    }

    func testMappedFileRefusesNonRegularFiles() {
        XCTAssertThrowsError(try MappedFile(path: "/dev/zero")) {
            XCTAssertEqual($0 as? FileError, .notRegularFile(path: "/dev/zero"))
        }
        XCTAssertThrowsError(try MappedFile(path: "/tmp"))
        XCTAssertThrowsError(try MappedFile(path: "/nonexistent/file"))
    }
}
