import Foundation
import GraftTestSupport
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `graft lr-find` and `finetune` without `--lr`: the range test runs on the recipe, its suggestion
/// and chart come out, and the fine-tune that uses the suggestion equals one given that rate by hand
/// (the test leaves no trace in the model).
final class LRFindCommandTests: CLITestCase {
    let common = ["--arch", "resnet", "--checkpoint", TestPaths.fixture("demo/backbone.pth"), "--data", TestPaths.fixture("demo/images"),
                  "--seed", "5", "--cache-features"]

    struct Report: Decodable {
        let suggested: Double
        let method: String
        let suggestions: [String: Double]
        let learning_rates: [Double]
        let smoothed_losses: [Float?]
        let stopped_on_divergence: Bool
    }

    func testRangeTestReportsFastaisSuggestionsAndDrawsTheCurve() throws {
        let chart = path("lr.svg")
        let r = try graft(["lr-find"] + common + ["--json", "--plot", chart])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(report.method, "valley")
        XCTAssertEqual(Set(report.suggestions.keys), ["valley", "slide", "minimum", "steep"])
        XCTAssertEqual(report.suggested, report.suggestions["valley"])
        XCTAssertEqual(report.learning_rates.first, 1e-7)
        XCTAssertTrue(report.stopped_on_divergence, "a sweep to lr 10 on a head diverges")
        XCTAssertLessThan(report.learning_rates.count, 100)
        // The suggestion lies on the descending part of the curve, well inside the sweep.
        XCTAssertTrue((1e-5...1).contains(report.suggested), "\(report.suggested)")
        let svg = try XCTUnwrap(FileManager.default.contents(atPath: chart))
        XCTAssertTrue(XMLParser(data: svg).parse(), "the chart is well-formed SVG")
        XCTAssertTrue(String(decoding: svg, as: UTF8.self).contains("valley"))

        let text = try graft(["lr-find"] + common + ["--suggest", "minimum"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("suggested --lr"), text.stdout)
        XCTAssertTrue(text.stdout.contains("minimum") && text.stdout.contains("← suggested"), text.stdout)
    }

    func testFinetuneWithoutLRUsesTheValleyAndEqualsTheSameRateGivenByHand() throws {
        let recipe = common + ["--head-dropout", "0.2"]
        let report = try JSONDecoder().decode(Report.self, from: Data(try graft(["lr-find"] + recipe + ["--json"]).stdout.utf8))
        let auto = path("auto/tuned.safetensors"), manual = path("manual/tuned.safetensors")
        let a = try graft(["finetune"] + recipe + ["--epochs", "2", "--output", auto])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("lr-find suggests --lr") && a.stdout.contains("tuned.lr-find.svg"), a.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("auto/tuned.lr-find.svg")))
        let m = try graft(["finetune"] + recipe + ["--epochs", "2", "--output", manual,
                                                   "--lr", String(format: "%.17g", report.suggested)])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: auto), FileManager.default.contents(atPath: manual),
                       "the range test changed the model the fine-tune started from")
    }

    func testBadSweepsAreRefused() throws {
        let r = try graft(["lr-find"] + common + ["--start-lr", "1", "--end-lr", "0.1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--start-lr"), r.stderr)
    }
}
