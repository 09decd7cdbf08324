import Foundation
import GraftTrain
import XCTest

/// `TrainingReport`: per-class metrics, and class names (folder names: user data) kept as text.
final class TrainingReportTests: XCTestCase {
    func testPerClassPrecisionRecallF1() {
        // rows true, columns predicted
        let m = TrainingReport.perClassMetrics([[8, 2, 0], [4, 4, 0], [0, 0, 0]])
        XCTAssertEqual(m[0].precision, 8.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(m[0].recall, 0.8, accuracy: 1e-12)
        XCTAssertEqual(m[0].f1, 2 * (8.0 / 12) * 0.8 / (8.0 / 12 + 0.8), accuracy: 1e-12)
        XCTAssertEqual(m[1].precision, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(m[1].recall, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m[2].support, 0)
        XCTAssertEqual(m[2].f1, 0, "no images and no predictions: 0, not NaN")
    }

    func testClassNamesCannotInjectMarkup() throws {
        let hostile = ["<script>alert(1)</script>", "a&b\"c'd", "line\nbreak\u{7}"]
        // Both are Codable with internal memberwise initializers: built as the JSON a run would record.
        let epoch = try JSONDecoder().decode(EpochReport.self, from: Data("""
            {"epoch":1,"trainLoss":1,"trainAccuracy":0.5,"valLoss":1,"valAccuracy":0.5,"valTop5":1,"learningRate":0.01,
             "seconds":1,"imagesPerSecond":1,"cachedFeatures":false,"trainableParameters":1}
            """.utf8))
        let validation = try JSONDecoder().decode(EvaluationResult.self, from: Data("""
            {"loss":1,"accuracy":0.5,"top5":1,"perClassAccuracy":[1,0,0],"confusion":[[1,0,0],[1,0,0],[0,1,0]],"count":3}
            """.utf8))
        let report = TrainingReport(title: "t <i>", facts: ["x < y"], classes: hostile, history: [epoch],
                                    validation: validation, examples: [])
        let html = report.html()
        XCTAssertFalse(html.contains("<script"), "escaped")
        XCTAssertFalse(html.contains("<i>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("a&amp;b&quot;c&#39;d"))
        XCTAssertTrue(html.contains("linebreak"), "control characters dropped")
        XCTAssertFalse(report.confusionSVG()!.contains("<script"))
    }
}
