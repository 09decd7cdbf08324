import Foundation
import GraftTestSupport
import GraftTrain
import XCTest

/// `graft lr-find` reproduces fastai's `Learner.lr_find` (Fixtures/train/lr_find.json, made by
/// tools/make_lr_find_fixtures.py with fastai 2.8.12): fed the raw batch losses fastai saw, the
/// recorder gives fastai's learning rates, smoothed losses and stopping point, and the four
/// suggestion rules give fastai's suggestions.
final class LRRangeTestTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let start_lr: Double, end_lr: Double, num_it: Int
            let raw_losses: [Float], lrs: [Double], smoothed_losses: [Float]
            let suggestions: [String: Double]
        }
        let cases: [Case]
    }

    func testReplayingFastaisLossesGivesFastaisCurveStopAndSuggestions() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/lr_find.json")))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        XCTAssertEqual(fixture.cases.count, 3)
        for c in fixture.cases {
            var recorder = LRRangeRecorder(LRRangeTest(startLR: c.start_lr, endLR: c.end_lr, iterations: c.num_it))
            var batches = 0
            for loss in c.raw_losses {
                batches += 1
                if !recorder.record(loss: loss) { break }
            }
            XCTAssertEqual(batches, c.raw_losses.count, "\(c.name): stopped at another batch")
            XCTAssertTrue(recorder.isFinished, c.name)
            XCTAssertEqual(recorder.stoppedOnDivergence, c.lrs.count < c.num_it, c.name)
            XCTAssertEqual(recorder.learningRates, c.lrs, "\(c.name): schedule")
            for (i, (ours, theirs)) in zip(recorder.smoothedLosses, c.smoothed_losses).enumerated() {
                XCTAssertEqual(ours, theirs, "\(c.name) smoothed loss \(i)")  // bit for bit
            }
            let suggested = Dictionary(uniqueKeysWithValues: recorder.suggestions.map { ($0.method.rawValue, $0.learningRate) })
            XCTAssertEqual(Set(suggested.keys), Set(c.suggestions.keys), c.name)
            for (method, lr) in c.suggestions {
                XCTAssertEqual(try XCTUnwrap(suggested[method]), lr, "\(c.name) \(method)")
            }
        }
    }

    func testTheScheduleAndTheMinimumLength() {
        let t = LRRangeTest()
        XCTAssertEqual(t.learningRate(at: 0), 1e-7)
        XCTAssertEqual(t.learningRate(at: 50), 1e-7 * pow(1e8, 0.5), accuracy: 1e-15)
        XCTAssertEqual(LRRangeTest(iterations: 2).iterations, 6)
        // Too short a curve for any rule: no suggestion rather than an index out of range.
        var r = LRRangeRecorder(LRRangeTest(iterations: 6))
        while r.record(loss: 1) {}
        XCTAssertEqual(r.learningRates.count, 6)
        XCTAssertTrue(r.suggestions.isEmpty)
    }

    func testANaNLossCutsTheCurveForTheSuggestions() {
        var r = LRRangeRecorder(LRRangeTest(startLR: 1e-5, endLR: 1, iterations: 60))
        for i in 0..<60 { r.record(loss: i < 40 ? 2 - Float(i) * 0.04 : .nan) }
        XCTAssertFalse(r.stoppedOnDivergence, "NaN compares false, as in fastai")
        XCTAssertEqual(r.learningRates.count, 60)
        let lastFinite = r.learningRates[39]
        XCTAssertFalse(r.suggestions.isEmpty)
        XCTAssertTrue(r.suggestions.allSatisfy { $0.markedRate <= lastFinite * (1 + 1e-6) }, "\(r.suggestions)")
    }
}
