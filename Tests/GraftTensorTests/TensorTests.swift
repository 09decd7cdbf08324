import GraftTensor
import XCTest

final class TensorTests: XCTestCase {
    func testInitializers() throws {
        let z = try Tensor(shape: [2, 3])
        XCTAssertEqual(z.shape, [2, 3])
        XCTAssertEqual(z.count, 6)
        XCTAssertEqual(z.rank, 2)
        XCTAssertEqual(z.values, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try Tensor(shape: [2], repeating: 1.5).values, [1.5, 1.5])
        XCTAssertEqual(try Tensor(shape: [2, 2], values: [1, 2, 3, 4]).values, [1, 2, 3, 4])
        XCTAssertEqual(try Tensor(shape: [0, 4]).count, 0)
        XCTAssertEqual(try Tensor(shape: []).count, 1)  // a scalar
        let u = try Tensor(uninitializedShape: [3, 5])
        XCTAssertEqual(u.count, 15)
    }

    /// NaN, +∞ and −∞ are found in the vector body and in the tail; extreme finite values, −0 and
    /// denormals are finite; an empty tensor is.
    func testIsAllFinite() throws {
        let finite: [Float] = (0..<37).map { Float($0) - 18 } + [.greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                                                   -0.0, .leastNonzeroMagnitude]
        XCTAssertTrue(try Tensor(shape: [finite.count], values: finite).isAllFinite)
        XCTAssertTrue(try Tensor(shape: [0]).isAllFinite)
        for bad in [Float.nan, .infinity, -.infinity] {
            for position in [0, 7, 8, 35, finite.count - 1] {
                var values = finite
                values[position] = bad
                XCTAssertFalse(try Tensor(shape: [values.count], values: values).isAllFinite, "\(bad) at \(position)")
            }
        }
    }

    func testInvalidShapesThrow() {
        XCTAssertThrowsError(try Tensor(shape: [2, -1]))
        XCTAssertThrowsError(try Tensor(shape: [Int.max, 2]))
        XCTAssertThrowsError(try Tensor(shape: [1 << 62]))  // element count fits, byte size would not
        XCTAssertThrowsError(try Tensor(shape: [2, 2], values: [1, 2, 3])) { error in
            XCTAssertEqual(error as? TensorError,
                           .countMismatch(op: "Tensor(shape:values:)", shape: [2, 2], count: 3))
        }
        XCTAssertThrowsError(try Tensor(uninitializedShape: [-3]))
    }

    func testReshapeSharesStorageAndChecksCount() throws {
        let t = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let r = try t.reshaped([3, 2])
        XCTAssertEqual(r.shape, [3, 2])
        XCTAssertEqual(r.values, t.values)
        XCTAssertTrue(r.sharesStorage(with: t))
        XCTAssertThrowsError(try t.reshaped([4, 2]))
        XCTAssertThrowsError(try t.reshaped([-6, -1]))
    }

    func testCopyOnWrite() throws {
        let a = try Tensor(shape: [4], values: [1, 2, 3, 4])
        var b = a
        XCTAssertTrue(b.sharesStorage(with: a))
        b.withUnsafeMutableBufferPointer { $0[0] = 10 }
        XCTAssertFalse(b.sharesStorage(with: a))
        XCTAssertEqual(a.values, [1, 2, 3, 4])
        XCTAssertEqual(b.values, [10, 2, 3, 4])
        // A unique buffer is written in place.
        var c = try Tensor(shape: [2], values: [1, 2])
        let before = c.withUnsafeBufferPointer { $0.baseAddress }
        c.withUnsafeMutableBufferPointer { $0[1] = 5 }
        XCTAssertEqual(c.withUnsafeBufferPointer { $0.baseAddress }, before)
        XCTAssertEqual(c.values, [1, 5])
    }

    func testAlignmentAndEquality() throws {
        let t = try Tensor(shape: [3, 7])
        let address = t.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
        XCTAssertEqual(address % 64, 0)
        XCTAssertEqual(try Tensor(shape: [2], values: [1, 2]), try Tensor(shape: [2], values: [1, 2]))
        XCTAssertNotEqual(try Tensor(shape: [2], values: [1, 2]), try Tensor(shape: [1, 2], values: [1, 2]))
        XCTAssertNotEqual(try Tensor(shape: [1], values: [.nan]), try Tensor(shape: [1], values: [.nan]))
        XCTAssertTrue("\(t)".hasPrefix("Tensor(shape: [3, 7]"))
    }

    /// Large buffers go back to the cache when their tensor dies and come out again for the same
    /// size; the limit bounds what is kept; contents of recycled zero-initialised tensors are zero.
    func testBufferCacheRecyclesLargeBuffers() throws {
        let savedLimit = TensorBufferCache.limitBytes
        defer { TensorBufferCache.limitBytes = savedLimit }
        TensorBufferCache.clear()
        XCTAssertEqual(TensorBufferCache.cachedBytes, 0)
        let shape = [1, 4, 256, 256]  // 1 MiB
        var address: Int?
        do {
            var t = try Tensor(shape: shape, repeating: 7)
            t.withUnsafeMutableBufferPointer { address = Int(bitPattern: $0.baseAddress) }
        }
        XCTAssertEqual(TensorBufferCache.cachedBytes, 1 << 20)
        let again = try Tensor(shape: shape)
        XCTAssertEqual(again.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }, address)
        XCTAssertEqual(TensorBufferCache.cachedBytes, 0)
        XCTAssertTrue(again.values.allSatisfy { $0 == 0 })
        // Small tensors bypass the cache; a zero limit disables it.
        do { _ = try Tensor(shape: [1000]) }
        XCTAssertEqual(TensorBufferCache.cachedBytes, 0)
        TensorBufferCache.limitBytes = 0
        do { _ = try Tensor(shape: shape) }
        XCTAssertEqual(TensorBufferCache.cachedBytes, 0)
    }

    func testErrorDescriptionsNameTheOperation() {
        let errors: [TensorError] = [
            .invalidShape(op: "conv2d", shape: [-1]),
            .countMismatch(op: "reshaped", shape: [2], count: 3),
            .rankMismatch(op: "linear", operand: "x", expected: 2, shape: [1, 2, 3]),
            .shapeMismatch(op: "add", detail: "b has shape [2]"),
            .invalidArgument(op: "dropout", detail: "probability 2"),
            .labelOutOfRange(op: "crossEntropy", sample: 3, label: 10, classes: 10),
        ]
        for e in errors {
            let text = e.description
            XCTAssertFalse(text.contains("\n"))
            XCTAssertTrue(["conv2d", "reshaped", "linear", "add", "dropout", "crossEntropy"].contains { text.hasPrefix($0) }, text)
        }
    }
}
