import GraftPickle
import GraftTestSupport
import XCTest

/// style_safety.md §2.3 B12 (deep nesting) and B13 (memo bomb) under the default limits, and
/// every `PickleLimits` field lowered to a tiny value. None of these may hang, trap or overflow
/// the stack; they finish in milliseconds (not asserted: timings are noisy on shared machines).
final class PickleLimitTests: XCTestCase {
    // MARK: B12: nesting

    /// 10^6 × (MARK, EMPTY_LIST): refused at the 101st MARK, nothing recursed.
    func testMillionNestedMarksHitTheDepthLimit() {
        let b = PickleBuilder().proto(2).repeated(1_000_000) { $0.mark().emptyList() }.stop()
        assertRejects(b, .limitExceeded(offset: 202, limit: .depth, maximum: 100))
    }

    /// 10^5 lists chained by APPEND: the chain is flat in the arena (no recursive release) and
    /// the freeze stops at depth 100.
    func testLongListChainHitsTheDepthLimitWhenFrozen() {
        let n = 100_000
        let b = PickleBuilder().proto(2).repeated(n) { $0.emptyList() }.repeated(n - 1) { $0.append() }.stop()
        assertRejects(b, .limitExceeded(offset: 102, limit: .depth, maximum: 100))
    }

    /// Tuples are immutable, so a tuple chain is refused at the TUPLE1 that makes it too deep.
    func testTupleChainHitsTheDepthLimitAtCreation() {
        let b = PickleBuilder().proto(2).emptyTuple().repeated(1_000_000) { $0.tuple1() }.stop()
        assertRejects(b, .limitExceeded(offset: 102, limit: .depth, maximum: 100))
    }

    func testDictChainBuiltThroughTheMemoHitsTheDepthLimit() {
        // d0 = {}; d1 = {"k": d0}; …: each dict is made, filled with the previous one, memoized.
        let b = PickleBuilder().proto(2).emptyDict().binPut(0)
            .repeated(10_000) { $0.emptyDict().binUnicode("k").binGet(0).setItem().binPut(0).pop() }
            .binGet(0).stop()
        guard case .limitExceeded(_, .depth, 100)? = rejection(b) else {
            return XCTFail("expected the depth limit")
        }
    }

    func testNestingUpToTheLimitIsAccepted() throws {
        let limits = PickleLimits(maxDepth: 3)
        let three = PickleBuilder().proto(2).emptyList().emptyList().emptyList().append().append().stop()
        XCTAssertEqual(try decode(three, limits: limits), .list([.list([.list([])])]))
        let four = PickleBuilder().proto(2).emptyList().emptyList().emptyList().emptyList()
            .append().append().append().stop()
        assertRejects(four, .limitExceeded(offset: 5, limit: .depth, maximum: 3), limits: limits)
        assertRejects(
            PickleBuilder().proto(2).mark().mark().mark().mark().stop(),
            .limitExceeded(offset: 5, limit: .depth, maximum: 3), limits: limits)
    }

    // MARK: B13: memo bomb

    /// 20 × (BINGET 0, BINGET 0, TUPLE2, BINPUT 0) stands for a tree of 2^21 nodes in 144 bytes.
    /// The freeze shares each tuple's result and counts occurrences, so it stops at the tuple that
    /// passes 1 000 000 nodes (the 19th, made at offset 135) without expanding anything.
    func testMemoBombHitsTheNodeLimitWithoutExpanding() {
        let bomb = PickleBuilder().proto(2).emptyTuple().binPut(0)
            .repeated(20) { $0.binGet(0).binGet(0).tuple2().binPut(0) }.stop()
        assertRejects(bomb, .limitExceeded(offset: 135, limit: .nodes, maximum: 1_000_000))
        let deeper = PickleBuilder().proto(2).emptyTuple().binPut(0)
            .repeated(90) { $0.binGet(0).binGet(0).tuple2().binPut(0) }.stop()
        assertRejects(deeper, .limitExceeded(offset: 135, limit: .nodes, maximum: 1_000_000))
    }

    /// The same bomb through mutable lists, which are counted at STOP.
    func testListMemoBombHitsTheNodeLimit() {
        let bomb = PickleBuilder().proto(2).emptyList().binPut(0)
            .repeated(30) { $0.emptyList().binGet(0).binGet(0).tuple2().append().binPut(0).pop() }
            .binGet(0).stop()
        guard case .limitExceeded(_, .nodes, 1_000_000)? = rejection(bomb) else {
            return XCTFail("expected the node limit")
        }
    }

    /// Hashing a memo-shared tuple key would also be exponential; keys draw on the node budget.
    func testMemoBombAsADictKeyHitsTheNodeLimit() {
        let bomb = PickleBuilder().proto(2).emptyTuple().binPut(0)
            .repeated(25) { $0.binGet(0).binGet(0).tuple2().binPut(0).pop() }
            .emptyDict().binGet(0).none().setItem().stop()
        assertRejects(bomb, .limitExceeded(offset: 209, limit: .nodes, maximum: 1_000_000))
    }

    // MARK: Every limit, made tiny

    func testOperationLimit() {
        let limits = PickleLimits(maxOperations: 3)
        XCTAssertEqual(try decode(PickleBuilder().proto(2).none().stop(), limits: limits), PickleValue.none)
        assertRejects(
            PickleBuilder().proto(2).none().none().stop(),
            .limitExceeded(offset: 4, limit: .operations, maximum: 3), limits: limits)
    }

    func testMemoEntryLimitCountsDistinctSlots() throws {
        let limits = PickleLimits(maxMemoEntries: 2)
        let reuse = PickleBuilder().proto(2).none().binPut(0).binPut(1).binPut(1).binPut(0).stop()
        XCTAssertEqual(try decode(reuse, limits: limits), PickleValue.none)
        assertRejects(
            PickleBuilder().proto(2).none().binPut(0).binPut(1).memoize().stop(),
            .limitExceeded(offset: 7, limit: .memoEntries, maximum: 2), limits: limits)
    }

    func testNodeLimitCountsEveryNode() throws {
        let limits = PickleLimits(maxNodes: 5)
        let four = PickleBuilder().proto(2).emptyList().mark().repeated(4) { $0.binInt1(1) }.appends().stop()
        XCTAssertEqual(try decode(four, limits: limits), .list(ints([1, 1, 1, 1])))
        let five = PickleBuilder().proto(2).emptyList().repeated(5) { $0.binInt1(1).append() }.stop()
        assertRejects(five, .limitExceeded(offset: 2, limit: .nodes, maximum: 5), limits: limits)
        // A shared list counts once per occurrence: 1 + 2 × (1 + 1) = 5 nodes, then 7.
        let shared = PickleBuilder().proto(2).emptyList().binInt1(1).append().binPut(0).pop()
        XCTAssertEqual(
            try decode(PickleBuilder().raw(shared.bytes).binGet(0).binGet(0).tuple2().stop(), limits: limits),
            .tuple([.list(ints([1])), .list(ints([1]))]))
        assertRejects(
            PickleBuilder().raw(shared.bytes).binGet(0).binGet(0).binGet(0).tuple3().stop(),
            .limitExceeded(offset: 15, limit: .nodes, maximum: 5), limits: limits)
    }

    /// Values waiting on the stack and containers made along the way count against the node
    /// limit as they appear, so a long run of one-byte opcodes cannot grow memory unchecked.
    func testNodeLimitBoundsTheStackAndTheArenaWhileParsing() {
        let limits = PickleLimits(maxNodes: 10)
        assertRejects(
            PickleBuilder().proto(2).repeated(1000) { $0.binInt1(0) }.stop(),
            .limitExceeded(offset: 22, limit: .nodes, maximum: 10), limits: limits)
        let lists = PickleBuilder().proto(2).repeated(1000) { $0.emptyList().pop() }.stop()
        assertRejects(lists, .limitExceeded(offset: 22, limit: .nodes, maximum: 10), limits: limits)
    }

    func testContainerLengthLimitAppliesToEveryContainer() {
        let limits = PickleLimits(maxContainerLength: 3)
        func fourInts(_ b: PickleBuilder) -> PickleBuilder {
            b.mark().binInt1(1).binInt1(2).binInt1(3).binInt1(4)
        }
        let exceeded = { (offset: Int) in
            PickleError.limitExceeded(offset: offset, limit: .containerLength, maximum: 3)
        }
        assertRejects(fourInts(PickleBuilder().proto(2)).tuple().stop(), exceeded(11), limits: limits)
        assertRejects(fourInts(PickleBuilder().proto(2)).list().stop(), exceeded(11), limits: limits)
        assertRejects(fourInts(PickleBuilder().proto(4)).frozenSet().stop(), exceeded(11), limits: limits)
        assertRejects(
            fourInts(PickleBuilder().proto(2).emptyList()).appends().stop(), exceeded(12), limits: limits)
        assertRejects(
            fourInts(PickleBuilder().proto(4).emptySet()).addItems().stop(), exceeded(12), limits: limits)
        let entries = PickleBuilder().proto(2).emptyDict().mark()
            .binInt1(1).none().binInt1(2).none().binInt1(3).none().binInt1(4).none().setItems().stop()
        assertRejects(entries, exceeded(16), limits: limits)
    }

    func testStringLengthLimitAppliesToTextBytesIntegersAndLines() throws {
        let limits = PickleLimits(maxStringLength: 4)
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).binUnicode("four").stop(), limits: limits), .string("four"))
        assertRejects(
            PickleBuilder().proto(2).binUnicode("fives").stop(),
            .limitExceeded(offset: 2, limit: .stringLength, maximum: 4), limits: limits)
        assertRejects(
            PickleBuilder().proto(3).binBytes([1, 2, 3, 4, 5]).stop(),
            .limitExceeded(offset: 2, limit: .stringLength, maximum: 4), limits: limits)
        assertRejects(
            PickleBuilder().proto(2).long4([1, 2, 3, 4, 5]).stop(),
            .limitExceeded(offset: 2, limit: .stringLength, maximum: 4), limits: limits)
        assertRejects(
            PickleBuilder().proto(2).global("collections", "OrderedDict").stop(),
            .limitExceeded(offset: 2, limit: .stringLength, maximum: 4), limits: limits)
    }

    /// The defaults leave plenty of room for real checkpoints.
    func testDefaultsAreGenerous() {
        let d = PickleLimits.default
        XCTAssertGreaterThanOrEqual(d.maxNodes, 1_000_000)
        XCTAssertGreaterThanOrEqual(d.maxDepth, 64)
        XCTAssertGreaterThanOrEqual(d.maxMemoEntries, 1_000_000)
        XCTAssertGreaterThanOrEqual(d.maxContainerLength, 1_000_000)
        XCTAssertGreaterThanOrEqual(d.maxStringLength, 256 << 20)
        XCTAssertGreaterThanOrEqual(d.maxOperations, 10_000_000)
    }
}
