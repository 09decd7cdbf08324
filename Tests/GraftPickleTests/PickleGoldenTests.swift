import GraftPickle
import GraftTestSupport
import XCTest

/// Pickles written by CPython and torch (`tools/make_pickle_fixtures.py`), decoded and compared
/// with what Python holds.
final class PickleGoldenTests: XCTestCase {
    /// `NESTED` of the generator script, as a `PickleValue`.
    static let nested: PickleValue = .dict([
        entry("none", .none),
        entry("true", .bool(true)),
        entry("false", .bool(false)),
        entry(
            "ints",
            .list(
                ints([
                    0, 1, -1, 255, 256, 65535, 65536, -65536, 2_147_483_647, -2_147_483_648, 2_147_483_648,
                    Int.max, Int.min,
                ]))),
        entry(
            "bigints",
            .list([
                .bigInt([0, 0, 0, 0, 0, 0, 0, 0x80, 0]),  // 2**63
                .bigInt([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF]),  // -2**63 - 1
                .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 1]),  // 2**64
                .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0xC0]),  // -2**70
                .bigInt([0, 0, 0, 0, 0, 97, 245, 185, 171, 191, 164, 92, 195, 241, 41, 99, 29]),  // 10**40
            ])),
        entry(
            "floats",
            .list([
                .float(0), .float(1.5), .float(-2.5e-300), .float(1e300), .float(.infinity),
                .float(-.infinity),
            ])),
        entry(
            "strings",
            .list([
                .string(""), .string("plain"), .string("tab\tnew\nline\r"), .string("back\\slash"),
                .string("caf\u{e9} \u{2713} \u{1F642}"), .string(String(repeating: "x", count: 300)),
            ])),
        entry("bytes", .list([.bytes([]), .bytes([0x00, 0xFF, 0x61, 0x62, 0x63]), .bytes(Array(0...255))])),
        entry(
            "tuples",
            .list([
                .tuple([]), .tuple(ints([1])), .tuple(ints([1, 2])), .tuple(ints([1, 2, 3])),
                .tuple(ints([1, 2, 3, 4])),
            ])),
        entry(
            "nested",
            .dict([
                entry(
                    "a",
                    .list([
                        .dict([entry("b", .tuple([.int(1), .list([.int(2), .dict([entry("c", .none)])])]))])
                    ]))
            ])),
        entry("shared", .list([.list(ints([1, 2])), .list(ints([1, 2]))])),
        entry("set", .set(ints([1, 2, 3]))),
        entry("frozenset", .set(ints([4, 5]))),
        PickleDictEntry(key: .int(7), value: .string("int key")),
        PickleDictEntry(key: .tuple([.int(1), .string("t")]), value: .string("tuple key")),
    ])

    func testTheSameValueDecodesIdenticallyAtProtocols0245() throws {
        for p in [0, 2, 4, 5] {
            let bytes = try fixtureBytes("nested_p\(p).pkl")
            let (value, end) = try PickleMachine(allowedGlobals: dataGlobals).decode(bytes)
            XCTAssertEqual(value, Self.nested, "protocol \(p)")
            XCTAssertEqual(end, bytes.count, "protocol \(p)")
        }
    }

    func testOrderedDictKeepsItsItemsAndDropsTheMetadataAttribute() throws {
        let bytes = try fixtureBytes("ordered_dict_metadata.pkl")
        let value = try PickleMachine(allowedGlobals: dataGlobals).decode(bytes).value
        XCTAssertEqual(value, .dict([entry("weight", .int(1)), entry("bias", .int(2))]))
    }

    /// One `torch._utils._rebuild_tensor_v2` record as torch writes it for a contiguous tensor.
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
                .int(0), .tuple(ints(size)), .tuple(ints(stride)), .bool(false), .dict([]),
            ])
    }

    static let convBatchNormStateDict: PickleValue = .dict([
        entry(
            "0.weight",
            tensor("FloatStorage", key: "0", numel: 108, size: [4, 3, 3, 3], stride: [27, 9, 3, 1])),
        entry("0.bias", tensor("FloatStorage", key: "1", numel: 4, size: [4], stride: [1])),
        entry("1.weight", tensor("FloatStorage", key: "2", numel: 4, size: [4], stride: [1])),
        entry("1.bias", tensor("FloatStorage", key: "3", numel: 4, size: [4], stride: [1])),
        entry("1.running_mean", tensor("FloatStorage", key: "4", numel: 4, size: [4], stride: [1])),
        entry("1.running_var", tensor("FloatStorage", key: "5", numel: 4, size: [4], stride: [1])),
        entry("1.num_batches_tracked", tensor("LongStorage", key: "6", numel: 1, size: [], stride: [])),
    ])

    func testTorchStateDictAtProtocols2And4() throws {
        for name in ["torch_state_dict.pkl", "torch_state_dict_p4.pkl"] {
            let bytes = try fixtureBytes(name)
            let (value, end) = try PickleMachine(allowedGlobals: torchGlobals).decode(bytes)
            XCTAssertEqual(value, Self.convBatchNormStateDict, name)
            XCTAssertEqual(end, bytes.count, name)
        }
    }

    func testTorchStateDictNeedsItsGlobalsAllowlisted() throws {
        let bytes = try fixtureBytes("torch_state_dict.pkl")
        XCTAssertThrowsError(try PickleMachine(allowedGlobals: dataGlobals).decode(bytes)) { error in
            XCTAssertEqual(
                error as? PickleError,
                .disallowedGlobal(offset: 49, name: "torch._utils._rebuild_tensor_v2"))
        }
    }

    func testAdamOptimizerStateHasIntKeysAndHyperparameters() throws {
        let value = try PickleMachine(allowedGlobals: torchGlobals).decode(
            try fixtureBytes("torch_adam_state.pkl")
        ).value
        guard let top = value.dictEntries, top.count == 2,
            let state = top[0].value.dictEntries, let groups = top[1].value.sequenceValue,
            let group = groups.first?.dictEntries
        else { return XCTFail("unexpected shape \(value.kindDescription)") }
        XCTAssertEqual(state.map(\.key), ints([0, 1, 2, 3]))
        XCTAssertEqual(
            state[0].value.dictEntries?.map(\.key),
            [.string("step"), .string("exp_avg"), .string("exp_avg_sq")])
        XCTAssertEqual(
            state[0].value.dictEntries?[1].value,
            Self.tensor("FloatStorage", key: "1", numel: 108, size: [4, 3, 3, 3], stride: [27, 9, 3, 1]))
        let byName = Dictionary(
            uniqueKeysWithValues: group.compactMap { e in e.key.stringValue.map { ($0, e.value) } })
        XCTAssertEqual(byName["lr"], .float(0.001))
        XCTAssertEqual(byName["betas"], .tuple([.float(0.9), .float(0.999)]))
        XCTAssertEqual(byName["eps"], .float(1e-8))
        XCTAssertEqual(byName["foreach"], PickleValue.none)
        XCTAssertEqual(byName["params"], .list(ints([0, 1, 2, 3])))
    }

    /// The legacy format is five pickles back to back, then raw storages: `end` chains them.
    func testLegacyTorchFileIsFiveConcatenatedPickles() throws {
        let bytes = try fixtureBytes("legacy_linear.pt")
        let machine = PickleMachine(allowedGlobals: torchGlobals)
        let magic = try machine.decode(bytes)
        // 0x1950a86a20f9469cfc6c, torch's MAGIC_NUMBER, beyond Int64.
        XCTAssertEqual(magic.value, .bigInt([0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]))
        let version = try machine.decode(bytes, from: magic.end)
        XCTAssertEqual(version.value, .int(1001))
        let sysInfo = try machine.decode(bytes, from: version.end)
        XCTAssertEqual(sysInfo.value.dictEntries?.first, entry("protocol_version", .int(1001)))
        let stateDict = try machine.decode(bytes, from: sysInfo.end)
        guard let entries = stateDict.value.dictEntries else { return XCTFail("state dict is not a dict") }
        XCTAssertEqual(entries.map(\.key), [.string("weight"), .string("bias")])
        guard case .call(_, "_rebuild_tensor_v2", let args) = entries[0].value,
            case .persistentID(let pid) = args.first, let fields = pid.sequenceValue
        else { return XCTFail("weight is not a tensor record") }
        // Legacy ids have six fields: ("storage", type, key, location, numel, view metadata).
        XCTAssertEqual(fields.count, 6)
        XCTAssertEqual(fields[4], .int(4))
        let keys = try machine.decode(bytes, from: stateDict.end)
        XCTAssertEqual(keys.value.sequenceValue?.count, 2)
        // What follows is storage data (u64 numel + payload per storage), not a pickle.
        XCTAssertEqual(bytes.count - keys.end, 2 * 8 + (4 + 2) * 4)
    }

    /// A real training checkpoint (ResNet-152 weights plus Adam state, 230 KB of pickle) fits the
    /// default limits with room to spare.
    func testResNet152TrainingCheckpointDecodesUnderDefaultLimits() throws {
        let bytes = try fixtureBytes("resnet152_checkpoint.pkl")
        let (value, end) = try PickleMachine(allowedGlobals: torchGlobals).decode(bytes)
        XCTAssertEqual(end, bytes.count)
        guard let top = value.dictEntries, top.count == 3,
            let model = top[0].value.dictEntries, let optimizer = top[1].value.dictEntries,
            let state = optimizer.first?.value.dictEntries
        else { return XCTFail("unexpected shape \(value.kindDescription)") }
        XCTAssertEqual(top.map(\.key), [.string("model"), .string("optimizer"), .string("epoch")])
        XCTAssertEqual(top[2].value, .int(3))
        XCTAssertEqual(model.count, 932)
        XCTAssertEqual(
            model.first,
            entry(
                "conv1.weight",
                Self.tensor(
                    "FloatStorage", key: "0", numel: 9408, size: [64, 3, 7, 7], stride: [147, 49, 7, 1])))
        XCTAssertEqual(state.count, 467)
        XCTAssertEqual(
            state.last?.value.dictEntries?.map(\.key),
            [.string("step"), .string("exp_avg"), .string("exp_avg_sq")])
    }
}
