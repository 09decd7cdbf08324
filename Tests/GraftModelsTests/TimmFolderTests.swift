import Foundation
import GraftCore
import GraftImage
import GraftModels
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// timm hub folders in and out, on the miniatures of `Fixtures/timm/folders.tar.xz`
/// (tools/make_timm_folders.py: timm's own save_for_hf, timm's logits and eval transform of photo.jpg).
final class TimmFolderTests: XCTestCase {
    static let folders = ["resnet50_mini", "efficientnet_b0_mini", "mobilenetv3_large_100_mini", "convnext_tiny_mini",
                          "regnety_032_mini", "densenet121_mini"]

    func folder(_ name: String) -> String { TestPaths.fixture("timm/\(name)") }

    func testEveryMiniatureGivesTimmsLogitsWithoutFlags() throws {
        for name in Self.folders {
            let store = try WeightStore.openCheckpoint(folder(name))
            let arch = try XCTUnwrap(store.metadata.arch, name)
            let loaded = try ModelLoader.load(arch: arch, store: store)
            XCTAssertEqual(loaded.scheme, .timm, name)
            let input = try NpyArray(contentsOfFile: folder(name) + "/input.npy")
            let want = try NpyArray(contentsOfFile: folder(name) + "/logits.npy")
            let got = try loaded.model.logits(try Tensor(shape: input.shape, values: input.values))
            let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                     atol: 1e-4, rtol: 1e-4)
            XCTAssertTrue(v.withinTolerance, "\(name): max |Δ| \(v.maxAbsDiff)")
            XCTAssertEqual(store.metadata.classes, ["rocket", "cat", "tulip", "bicycle", "lighthouse"], name)
            XCTAssertNotNil(store.metadata.timmArchitecture, name)
        }
    }

    func testPreprocessingEqualsTimmsEvalTransform() throws {
        let image = try ImageDecoder.decode(path: TestPaths.fixture("timm/photo.jpg"))
        var modes: Set<CropMode> = []
        for name in Self.folders {
            let store = try WeightStore.openCheckpoint(folder(name))
            let choice = try PreprocessingChoice.resolve(weights: nil, arch: store.metadata.arch, store: store)
            guard case .torchvision(let preset) = choice.pipeline else { return XCTFail(name) }
            modes.insert(preset.cropMode)
            let got = try choice.pipeline.evaluate(image)
            let want = try NpyArray(contentsOfFile: folder(name) + "/input.npy")
            XCTAssertEqual(got.values.count, want.values.count, name)
            let worst = zip(got.values, want.values).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
        }
        XCTAssertEqual(modes, [.center, .squash, .border])
    }

    func testPretrainedConfigBecomesTheResizeTimmComputes() throws {
        var cfg = TimmConfig.Pretrained()
        cfg.inputSize = [3, 224, 224]
        cfg.cropPct = 0.95
        cfg.interpolation = "bicubic"
        guard case .torchvision(let p) = try TimmPreprocessing.pipeline(cfg) else { return XCTFail() }
        XCTAssertEqual(p.resizeSize, 235)  // floor(224 / 0.95), resnet50.a1_in1k
        XCTAssertEqual(p.interpolation, .bicubic)
        guard case .torchvision(let d) = try TimmPreprocessing.pipeline(nil) else { return XCTFail() }
        XCTAssertEqual([d.resizeSize, d.cropSize], [256, 224])  // resolve_data_config's defaults
        XCTAssertEqual(d.interpolation, ResampleFilter.bicubic)
        // crop_pct written back gives the same resize.
        let fields = try TimmPreprocessing.pretrainedFields(.torchvision(p))
        let pct = try XCTUnwrap(fields["crop_pct"] as? Double)
        XCTAssertEqual((224 / pct).rounded(.down), 235)
        cfg.cropMode = "zoom"
        XCTAssertThrowsError(try TimmPreprocessing.pipeline(cfg))
        cfg.cropMode = nil
        cfg.cropPct = 0.01
        XCTAssertThrowsError(try TimmPreprocessing.pipeline(cfg))  // resize 22,400 > 8192
    }

    func testAFileInsideTheFolderAndACacheSnapshotOpenTheFolder() throws {
        let source = folder("resnet50_mini")
        let inside = try WeightStore.openCheckpoint(source + "/model.safetensors")
        XCTAssertEqual(inside.metadata.timmArchitecture, "resnet50")
        // models--timm--NAME/snapshots/REV/ with symlinks into ../../blobs, and refs/main naming REV.
        let root = TestPaths.temporaryDirectory("timm-cache")
        defer { try? FileManager.default.removeItem(at: root) }
        let repo = root.appendingPathComponent("models--timm--resnet50.a1_in1k")
        let revision = "0123456789abcdef0123456789abcdef01234567"
        let snapshot = repo.appendingPathComponent("snapshots/\(revision)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        for (file, blob) in [("model.safetensors", "b1"), ("config.json", "b2")] {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: repo.appendingPathComponent("blobs/\(blob)").path)
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(file).path,
                                                       withDestinationPath: "../../blobs/\(blob)")
        }
        try Data(revision.utf8).write(to: repo.appendingPathComponent("refs/main"))
        for path in [snapshot.path, repo.path, snapshot.appendingPathComponent("config.json").path] {
            let store = try WeightStore.openCheckpoint(path)
            XCTAssertEqual(store.metadata.timmArchitecture, "resnet50", path)
            XCTAssertEqual(store.entries.count, inside.entries.count, path)
        }
        // A refs/main that is no revision is not followed.
        try Data("../../../etc".utf8).write(to: repo.appendingPathComponent("refs/main"))
        XCTAssertThrowsError(try WeightStore.openCheckpoint(repo.path)) { XCTAssertTrue($0 is TimmFolderError, "\($0)") }
    }

    func testHostileConfigsAreTypedErrors() throws {
        func parse(_ text: String) -> Error? {
            do { _ = try TimmConfig.parse(Data(text.utf8), file: "config.json"); return nil } catch { return error }
        }
        XCTAssertNil(parse(#"{"architecture": "resnet50"}"#))
        let cases: [(String, String)] = [
            (#"{"num_classes": 5}"#, "architecture is missing"),
            (#"{"architecture": 5}"#, "architecture"),
            (#"{"architecture": "resnet50\u001b[31m"}"#, "no timm model name"),
            (#"{"architecture": "resnet50", "num_classes": "5"}"#, "num_classes"),
            (#"{"architecture": "resnet50", "num_classes": true}"#, "num_classes"),
            (#"{"architecture": "resnet50", "pretrained_cfg": {"mean": [0.5, 0.5]}}"#, "pretrained_cfg.mean"),
            (#"{"architecture": "resnet50", "pretrained_cfg": {"input_size": [3, 224, 1e9]}}"#, "pretrained_cfg.input_size"),
            (#"{"architecture": "resnet50", "pretrained_cfg": {"crop_pct": -1}}"#, "pretrained_cfg.crop_pct"),
            (#"{"architecture": "resnet50", "num_classes": 2, "label_names": ["a"]}"#, "label_names"),
            (#"[1, 2]"#, "not a JSON object"),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "nested 100 levels"),
        ]
        for (text, fragment) in cases {
            let error = try XCTUnwrap(parse(text), text)
            XCTAssertTrue(error is TimmFolderError, text)
            XCTAssertTrue("\(error)".contains(fragment), "'\(error)' should say \(fragment)")
            XCTAssertFalse("\(error)".contains("\u{1b}"), "escape characters are quoted safely")
        }
        let huge = Data(count: TimmConfig.byteLimit + 1)
        XCTAssertThrowsError(try TimmConfig.parse(huge, file: "config.json")) {
            XCTAssertEqual($0 as? TimmFolderError, .tooLarge(file: "config.json", limit: TimmConfig.byteLimit))
        }
    }

    /// Graft's EfficientNet-Lite pads "same" as TensorFlow does (its weights are TF's): timm's graph for
    /// it is tf_efficientnet_liteN (checked by hand: a Lite0 fine-tuned in Graft loads there within
    /// 3.2e-5); timm's efficientnet_liteN pads symmetrically and is refused, not silently mis-run.
    func testEfficientNetLiteMapsToTimmsTFVariant() {
        for i in 0...4 {
            XCTAssertEqual(TimmArchitectures.lookup(graft: "efficientnet_lite\(i)")?.timm, "tf_efficientnet_lite\(i)")
            XCTAssertEqual(TimmArchitectures.lookup(timm: "tf_efficientnet_lite\(i).in1k")?.graft, "efficientnet_lite\(i)")
            XCTAssertNil(TimmArchitectures.lookup(timm: "efficientnet_lite\(i)"))
        }
    }

    func testAnUnknownArchitectureNamesTheKnownOnes() throws {
        let dir = TestPaths.temporaryDirectory("timm-unknown")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: folder("resnet50_mini") + "/model.safetensors", toPath: dir.path + "/model.safetensors")
        try Data(#"{"architecture": "vit_base_patch16_224"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try WeightStore.openCheckpoint(dir.path)) { error in
            XCTAssertEqual(error as? TimmError, .unknownArchitecture("vit_base_patch16_224"))
            XCTAssertTrue("\(error)".contains("convnext_tiny"))
        }
        // A directory with weights but no config.json is no timm folder.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try WeightStore.openCheckpoint(dir.path)) { XCTAssertEqual($0 as? TimmFolderError, .notATimmFolder(dir.path)) }
    }

    func testExportWritesTimmsKeysAndAConfigTimmReads() throws {
        let out = TestPaths.temporaryDirectory("timm-export")
        defer { try? FileManager.default.removeItem(at: out) }
        for name in Self.folders {
            let original = try WeightStore.open(folder(name) + "/model.safetensors")
            let store = try WeightStore.openCheckpoint(folder(name))
            let target = out.appendingPathComponent(name).path
            let summary = try TimmExport.write(store, to: target)
            XCTAssertEqual(summary.numClasses, 5)
            let written = try WeightStore.open(target + "/model.safetensors")
            XCTAssertEqual(try WeightStore.openCheckpoint(target).namingScheme, .timm)
            // Every key and shape as timm's own save_for_hf wrote them.
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: written.entries.map { ($0.name, $0.tensor.shape) }),
                           Dictionary(uniqueKeysWithValues: original.entries.map { ($0.name, $0.tensor.shape) }), name)
            for entry in original.entries.prefix(40) {
                let a = try XCTUnwrap(written.entry(named: entry.name), entry.name).tensor.load()
                let b = try entry.tensor.load()
                XCTAssertEqual(a.data.withUnsafeBytes { Array($0) }, b.data.withUnsafeBytes { Array($0) }, entry.name)
            }
            let config = try TimmConfig.read(target + "/config.json")
            let source = try TimmConfig.read(folder(name) + "/config.json")
            XCTAssertEqual(config.architecture, source.architecture)
            XCTAssertEqual(config.labelNames, source.labelNames)
            XCTAssertEqual(config.pretrained?.numClasses, 5)
            XCTAssertEqual(try TimmPreprocessing.pipeline(config.pretrained), try TimmPreprocessing.pipeline(source.pretrained), name)
        }
    }

    func testTorchvisionMobileNetExportsItsBatchNormEps() throws {
        let model = try ModelLoader.random(arch: "mobilenet_v3_small", seed: 1)
        let store = WeightStore.inMemory(try model.network.stateDict().map { ($0.name, $0.tensor) }, metadata: {
            var m = StoreMetadata(); m.arch = "mobilenet_v3_small"; return m
        }())
        let out = TestPaths.temporaryDirectory("timm-eps")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try TimmExport.write(store, to: out.path)
        let config = try TimmConfig.read(out.path + "/config.json")
        XCTAssertEqual(config.architecture, "mobilenetv3_small_100")
        XCTAssertEqual(config.bnEps ?? 0, 1e-3, accuracy: 1e-9)  // torchvision's eps, timm's default is 1e-5
        // Read back: the keys map onto Graft's names again and the eps comes with them.
        let back = try WeightStore.openCheckpoint(out.path)
        XCTAssertEqual(back.metadata.bnEps, 1e-3)
        XCTAssertEqual(Set(back.entries.map(\.name)), Set(store.entries.map(\.name)))
    }

    /// A folder whose weights are not what its config says: a key no rule places, a tensor of another
    /// rank than its rule reshapes. Both are errors naming the key, never a silently skipped tensor.
    func testKeysTheRulesCannotPlaceAreNamed() throws {
        let dir = TestPaths.temporaryDirectory("timm-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = folder("mobilenetv3_large_100_mini")
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir.path + "/config.json")
        let original = try WeightStore.open(source + "/model.safetensors")
        func write(_ edit: (inout [(name: String, tensor: RawTensor)]) -> Void) throws {
            var tensors = try original.entries.map { (name: $0.name, tensor: try $0.tensor.load()) }
            edit(&tensors)
            try SafetensorsWriter.write(to: dir.path + "/model.safetensors", tensors: tensors, metadata: [("format", "pt")])
        }
        try write { $0.append((name: "blocks.0.0.extra\u{1b}.weight", tensor: $0[0].tensor)) }
        XCTAssertThrowsError(try WeightStore.openCheckpoint(dir.path)) { error in
            XCTAssertTrue(error is TimmNamingError, "\(error)")
            XCTAssertTrue("\(error)".contains("extra"), "\(error)")
            XCTAssertFalse("\(error)".contains("\u{1b}"), "\(error)")
        }
        try write { tensors in
            let i = tensors.firstIndex { $0.name == "conv_head.weight" }!
            let t = tensors[i].tensor
            tensors[i] = (name: t.shape.isEmpty ? "" : "conv_head.weight",
                          tensor: try! RawTensor(dtype: t.dtype, shape: [t.shape[0], t.shape[1]], data: t.data))
        }
        XCTAssertThrowsError(try WeightStore.openCheckpoint(dir.path)) { error in
            XCTAssertTrue("\(error)".contains("conv_head.weight") && "\(error)".contains("shape"), "\(error)")
        }
    }

    /// The full-size folders of `tools/make_timm_folders.py --full` (uncommitted `.build-timm-full/`):
    /// timm's logits and eval transform of the full photo, every architecture of the issue.
    func testFullSizeFoldersWhenMade() throws {
        let base = TestPaths.root.appendingPathComponent(".build-timm-full")
        guard FileManager.default.fileExists(atPath: base.appendingPathComponent("photo.jpg").path) else {
            throw XCTSkip("run tools/make_timm_folders.py --full to check the full-size timm folders")
        }
        let image = try ImageDecoder.decode(path: base.appendingPathComponent("photo.jpg").path)
        let names = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { $0.contains(".") && !$0.hasSuffix(".jpg") }
        XCTAssertGreaterThanOrEqual(names.count, 4)
        for name in names.sorted() {
            let dir = base.appendingPathComponent(name).path
            let store = try WeightStore.openCheckpoint(dir)
            let loaded = try ModelLoader.load(arch: try XCTUnwrap(store.metadata.arch), store: store)
            let input = try NpyArray(contentsOfFile: dir + "/input.npy")
            let want = try NpyArray(contentsOfFile: dir + "/logits.npy")
            let got = try loaded.model.logits(try Tensor(shape: input.shape, values: input.values))
            let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape)
            XCTAssertTrue(v.withinTolerance, "\(name): \(v.summary)")
            let x = try PreprocessingChoice.resolve(weights: nil, arch: store.metadata.arch, store: store).pipeline.evaluate(image)
            XCTAssertEqual(x.values, input.values, name)
        }
    }
}
