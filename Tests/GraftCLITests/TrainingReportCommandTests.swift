import Foundation
import GraftImage
import GraftTestSupport
import XCTest

/// The `report.html` every fine-tune writes: self-contained, and — in headless Chromium when the
/// machine has it — rendered with its charts, confusion matrix and Grad-CAM images.
final class TrainingReportCommandTests: CLITestCase {
    /// A 6-epoch head fine-tune of the bundled demo backbone; returns the report's path.
    func fineTuneDemo() throws -> String {
        let store = path("backbone.safetensors")
        let convert = try graft(["convert", TestPaths.fixture("demo/backbone.pth"), store, "--arch", "resnet"])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let run = try graft(["finetune", "--checkpoint", store, "--data", TestPaths.fixture("demo/images"), "--epochs", "6",
                             "--batch", "8", "--lr", "0.05", "--schedule", "one-cycle", "--freeze", "backbone", "--no-augment",
                             "--output", path("out/tuned.safetensors")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("report.html"), run.stdout)
        return path("out/report.html")
    }

    func testReportIsSelfContained() throws {
        let html = try String(contentsOfFile: try fineTuneDemo(), encoding: .utf8)
        for section in ["Training curves", "Learning-rate schedule", "Confusion matrix", "Per-class precision, recall and F1",
                        "Validation images with the highest loss"] {
            XCTAssertTrue(html.contains(section), section)
        }
        XCTAssertEqual(html.components(separatedBy: "<figure>").count - 1, 8, "eight highest-loss images")
        XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, 8)
        XCTAssertFalse(html.lowercased().contains("<script"), "readable without scripts")
        // Nothing to fetch: every src is inline data and nothing links out (the SVG namespace is a name, not a fetch).
        XCTAssertNil(html.range(of: #"src="(?!data:)"#, options: .regularExpression))
        XCTAssertNil(html.range(of: #"(href|url)\s*[=(]\s*["']?(https?:|//)"#, options: [.regularExpression, .caseInsensitive]))
        for row in ["<td>crescent</td>", "<td>frame</td>", "<td>grid</td>"] { XCTAssertTrue(html.contains(row), row) }
    }

    /// Headless Chromium's screenshot shows the drawn charts (their line and heat-map colours) and the
    /// Grad-CAM images (thousands of distinct colours), not an empty or broken page.
    func testReportRendersInHeadlessChromium() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("no chromium (Debian's `chromium` package) to render report.html") }
        let report = try fineTuneDemo(), shot = path("report.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1320,1900",
                             "--user-data-dir=\(path("chromium-profile"))", "--screenshot=\(shot)", URL(fileURLWithPath: report).absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate(); XCTFail("chromium did not finish in 120 s"); return }

        let image = try ImageDecoder.decode(path: shot)
        XCTAssertEqual(image.width, 1320)
        func count(near c: (Int, Int, Int)) -> Int {
            stride(from: 0, to: image.pixels.count, by: 3).reduce(0) { n, i in
                let d = abs(Int(image.pixels[i]) - c.0) + abs(Int(image.pixels[i + 1]) - c.1) + abs(Int(image.pixels[i + 2]) - c.2)
                return n + (d <= 24 ? 1 : 0)
            }
        }
        XCTAssertGreaterThan(count(near: (31, 119, 180)), 300, "the train curves (#1f77b4)")
        XCTAssertGreaterThan(count(near: (214, 39, 40)), 300, "the validation curves (#d62728)")
        XCTAssertGreaterThan(count(near: (55, 80, 255)), 2000, "the confusion matrix's full cells")
        var colours = Set<Int>()
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            colours.insert(Int(image.pixels[i]) << 16 | Int(image.pixels[i + 1]) << 8 | Int(image.pixels[i + 2]))
        }
        XCTAssertGreaterThan(colours.count, 5000, "the Grad-CAM photos")
    }
}
