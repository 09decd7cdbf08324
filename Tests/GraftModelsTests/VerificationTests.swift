import Foundation
import GraftModels
import XCTest

/// The comparison `graft verify` and the parity tests share: numpy.allclose's rule, the margin, the
/// rankings, and NaN/Inf on either side.
final class VerificationTests: XCTestCase {
    func verify(_ output: [Float], _ reference: [Float], shape: [Int], atol: Float = 1e-4, rtol: Float = 1e-4) throws -> Verification {
        try Verification(output: output, shape: shape, reference: reference, referenceShape: shape, atol: atol, rtol: rtol)
    }

    func testAllcloseRuleAndTheWorstShare() throws {
        // At 100 the allowance is 1e-4 + 1e-4·100 = 0.0101: |Δ| 0.01 uses 99 % of it. At 1 it is 2e-4,
        // so |Δ| 3e-4 is one and a half times the allowance.
        let ok = try verify([100.01, 1, 0], [100, 1, 0], shape: [3])
        XCTAssertTrue(ok.withinTolerance, ok.summary)
        XCTAssertEqual(ok.worstToleranceShare, 0.01 / 0.0101, accuracy: 2e-3)
        XCTAssertEqual(ok.worstIndex, 0)
        let bad = try verify([100, 1.0003, 0], [100, 1, 0], shape: [3])
        XCTAssertFalse(bad.withinTolerance)
        XCTAssertEqual(bad.outsideTolerance, 1)
        XCTAssertEqual(bad.worstIndex, 1)
        XCTAssertEqual(bad.worstToleranceShare, 1.5, accuracy: 1e-3)
        XCTAssertEqual(bad.maxAbsDiff, 3e-4, accuracy: 1e-7)
        XCTAssertEqual(bad.maxRelDiff, 3e-4, accuracy: 1e-7)
        // rtol 0 is a plain absolute bound.
        XCTAssertFalse(try verify([100.0102], [100], shape: [1], atol: 1e-2, rtol: 0).withinTolerance)
    }

    func testTopOneAndTopFiveAgreementPerRow() throws {
        let reference: [Float] = [0, 1, 2, 3, 4, 5, 6, /* row 2 */ 6, 5, 4, 3, 2, 1, 0]
        // Row 1: same ranking. Row 2: the best two swap (top-1 differs, top-5 set the same).
        let output: [Float] = [0, 1, 2, 3, 4, 5, 6, /* row 2 */ 5, 6, 4, 3, 2, 1, 0]
        let v = try verify(output, reference, shape: [2, 7], atol: 10, rtol: 0)
        XCTAssertEqual(v.samples, 2)
        XCTAssertEqual(v.classes, 7)
        XCTAssertEqual(v.top1Matches, 1)
        XCTAssertEqual(v.top5Matches, 2)
        XCTAssertEqual(v.top1Agreement, 0.5)
        XCTAssertEqual(v.top5Agreement, 1)
        // The last value jumping to first place changes both.
        let moved = try verify([9, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6], shape: [1, 7], atol: 10, rtol: 0)
        XCTAssertEqual(moved.top1Matches, 0)
        XCTAssertEqual(moved.top5Matches, 0)
    }

    func testNonFiniteValuesAreCountedAndNeverHideTheRest() throws {
        let output: [Float] = [.nan, .infinity, 1, -.infinity, 2]
        let reference: [Float] = [1, .infinity, 1.00001, .infinity, .nan]
        let v = try verify(output, reference, shape: [5])
        XCTAssertEqual(v.outputNonFinite, .init(nan: 1, infinity: 2))
        XCTAssertEqual(v.referenceNonFinite, .init(nan: 1, infinity: 2))
        // NaN is never close; +inf is close to +inf only (numpy.isclose, equal_nan=False).
        XCTAssertEqual(v.outsideTolerance, 3)
        XCTAssertFalse(v.withinTolerance)
        // The finite pair still reports its own difference.
        XCTAssertEqual(v.maxAbsDiff, 1e-5, accuracy: 1e-6)
        XCTAssertEqual(v.worstIndex, 2)
        XCTAssertTrue(v.summary.contains("NaN"), v.summary)
        XCTAssertTrue(try verify([.infinity], [.infinity], shape: [1]).withinTolerance)
    }

    func testShapesMustAgree() {
        XCTAssertThrowsError(try Verification(output: [1, 2], shape: [1, 2], reference: [1, 2], referenceShape: [2, 1])) {
            XCTAssertEqual($0 as? VerificationError, .shapeMismatch(output: [1, 2], reference: [2, 1]))
            XCTAssertEqual(String(describing: $0), "reference shape [2, 1], model output [1, 2]")
        }
        XCTAssertThrowsError(try verify([1, 2, 3], [1, 2], shape: [2]))
    }

    func testTopKRanksNaNLastAndBreaksTiesByIndex() {
        XCTAssertEqual(TopK.indices([1, .nan, 3, 3, 2], k: 5), [2, 3, 4, 0, 1])
        XCTAssertEqual(TopK.indices([Float](repeating: 0, count: 3), k: 2), [0, 1])
        XCTAssertEqual(TopK.indices([Float](), k: 3), [])
    }

    func testEncodesTheFieldsVerifyPrints() throws {
        let v = try verify([1, 2], [1, 2], shape: [1, 2])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(v)) as? [String: Any]
        XCTAssertEqual(json?["withinTolerance"] as? Bool, true)
        XCTAssertEqual(json?["top1Agreement"] as? Double, 1)
        XCTAssertNotNil(json?["outputNonFinite"] as? [String: Any])
    }
}
