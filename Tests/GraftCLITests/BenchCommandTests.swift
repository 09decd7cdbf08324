import Foundation
import XCTest

/// `graft bench --json`: the summary figures and every timed iteration, in order, so a tool can look at
/// the spread (this project's VMs have slow spells of seconds) rather than at one median.
final class BenchCommandTests: CLITestCase {
    func testJSONReportsEveryIterationAndItsMedian() throws {
        let r = try graft(["bench", "--arch", "squeezenet1_1", "--size", "64", "--iterations", "5", "--warmup", "1",
                           "--threads", "1", "--engine", "graft", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let times = try XCTUnwrap(report["times_ms"] as? [Double], r.stdout)
        XCTAssertEqual(times.count, 5)
        XCTAssertTrue(times.allSatisfy { $0 > 0 && $0.isFinite }, "\(times)")
        let sorted = times.sorted()
        XCTAssertEqual(try XCTUnwrap(report["median_ms"] as? Double), sorted[2], accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report["min_ms"] as? Double), sorted[0], accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report["mean_ms"] as? Double), times.reduce(0, +) / 5, accuracy: 1e-9)
        XCTAssertEqual(report["iterations"] as? Int, 5)
        XCTAssertEqual(report["threads"] as? Int, 1)
    }
}
