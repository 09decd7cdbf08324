import GraftCore
import GraftNN
import GraftSafetensors
import GraftStore
import Foundation
import GraftTestSupport
import XCTest
import GraftModels

/// Architecture detection from keys and shapes: every named size (up to ResNet-50's weight) comes back
/// under its own name, each family's miniature under its family, and what does not fit exactly is an
/// error naming the closest candidates — never a guess.
final class ArchitectureDetectionTests: XCTestCase {
    /// Shape-only entries, as a store lists them before reading any bytes.
    static func entries(_ shapes: [(String, [Int])]) -> [(name: String, tensor: LazyTensor)] {
        shapes.map { (name: $0.0, tensor: LazyTensor(dtype: .float32, shape: $0.1, load: { throw ZooError.unknownArch("no data") })) }
    }

    static func entries(of spec: ArchSpec) -> [(name: String, tensor: LazyTensor)] {
        entries(Zoo.network(spec).namedParameters().map { ($0.name, $0.parameter.value.shape) })
    }

    func testNamedSizesAreDetectedByTheirOwnName() throws {
        let names = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg11", "vgg13_bn", "efficientnet_b0",
                     "efficientnet_b3", "efficientnet_b5", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_lite0", "convnext_tiny", "convnext_small", "mobilenet_v2",
                     "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "mnasnet1_0", "alexnet", "squeezenet1_0",
                     "squeezenet1_1", "googlenet", "inception_v3", "densenet121", "densenet161", "shufflenet_v2_x0_5",
                     "shufflenet_v2_x1_0", "regnet_x_400mf", "regnet_y_400mf", "regnet_y_1_6gf"]
        for name in names {
            let spec = try XCTUnwrap(Zoo.spec(named: name), name)
            let found = try ArchitectureDetection.detect(Self.entries(of: spec))
            XCTAssertEqual(found.arch, name)
            XCTAssertEqual(found.spec, spec, name)
            XCTAssertEqual(found.scheme, .torchvision, name)
        }
    }

    func testAFineTunedClassCountIsReadFromTheClassifier() throws {
        for name in ["resnet18", "squeezenet1_1", "mobilenet_v3_small", "densenet121"] {
            let spec = Zoo.spec(named: name)!.withClasses(7)
            let found = try ArchitectureDetection.detect(Self.entries(of: spec))
            XCTAssertEqual(found.arch, name)
            XCTAssertEqual(found.spec.numClasses, 7, name)
        }
    }

    func testCheckpointsWithoutAuxiliaryHeadsAreStillTheirBuilder() throws {
        for name in ["googlenet", "inception_v3"] {
            let all = Self.entries(of: Zoo.spec(named: name)!)
            let trimmed = all.filter { !$0.name.hasPrefix("aux") && !$0.name.hasPrefix("AuxLogits") }
            XCTAssertLessThan(trimmed.count, all.count)
            let found = try ArchitectureDetection.detect(trimmed)
            XCTAssertEqual(found.arch, name)
            switch found.spec {
            case .googlenet(let c): XCTAssertFalse(c.auxLogits)
            case .inceptionV3(let c): XCTAssertFalse(c.auxLogits)
            default: XCTFail("\(name) detected as \(found.spec)")
            }
        }
    }

    /// Miniatures (sizes no builder has) come back as their family, read from the shapes.
    func testMiniaturesAreDetectedAsTheirFamily() throws {
        let cases = ["torch/resnet18_mini.pth": "resnet", "torch/vgg11_bn_mini.pth": "vgg",
                     "torch/efficientnet_b0_mini.pth": "efficientnet", "torch/efficientnet_v2_s_mini.pth": "efficientnet_v2",
                     "models/timm_tf_efficientnet_lite0_mini.pth": "efficientnet_lite", "zoo/convnext/mini.pth": "convnext",
                     "zoo/dense/densenet_mini.pth": "densenet", "zoo/dense/regnet_x_mini.pth": "regnet",
                     "zoo/dense/regnet_y_mini.pth": "regnet", "zoo/dense/shufflenet_v2_mini.pth": "shufflenet_v2"]
        for (file, family) in cases.sorted(by: { $0.key < $1.key }) {
            let store = try WeightStore.open(TestPaths.fixture(file))
            let found = try ArchitectureDetection.detect(store.entries.map { (name: $0.name, tensor: $0.tensor) })
            XCTAssertEqual(found.arch, family, file)
            // Loading with the detected architecture gives the same logits as loading with the family name.
            let detected = try ModelLoader.load(store: store)
            let named = try ModelLoader.load(arch: family, store: store)
            XCTAssertEqual(detected.spec, named.spec, file)
            XCTAssertTrue(detected.notes.first?.contains("detected") == true, file)
        }
    }

    func testDenseNetsOldKeyNamesAreDetected() throws {
        let spec = Zoo.spec(named: "densenet121")!
        let old = Self.entries(of: spec).map { entry -> (String, [Int]) in
            var name = entry.name
            for part in ["norm", "relu", "conv"] {
                for i in ["1", "2"] where name.contains("denselayer") {
                    name = name.replacingOccurrences(of: ".\(part)\(i).", with: ".\(part).\(i).")
                }
            }
            return (name, entry.tensor.shape)
        }
        XCTAssertTrue(old.contains { $0.0.contains("norm.1.weight") })
        XCTAssertEqual(try ArchitectureDetection.detect(Self.entries(old)).arch, "densenet121")
    }

    func testWhatFitsNothingIsAnErrorNamingTheClosest() throws {
        var shapes = Self.entries(of: Zoo.spec(named: "resnet18")!).map { ($0.name, $0.tensor.shape) }
        shapes.removeAll { $0.0 == "layer2.0.downsample.0.weight" }
        XCTAssertThrowsError(try ArchitectureDetection.detect(Self.entries(shapes))) { error in
            guard case DetectionError.unknown(let closest) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(closest.first?.hasPrefix("resnet") == true, "\(closest)")
            XCTAssertTrue("\(error)".contains("missing layer2.0.downsample.0.weight"), "\(error)")
        }
        XCTAssertThrowsError(try ArchitectureDetection.detect(Self.entries([("weight", [3, 3]), ("bias", [3])]))) { error in
            XCTAssertEqual(error as? DetectionError, .unknown(closest: []))
        }
    }

    /// Two architectures whose keys and shapes are the same are named, not chosen between.
    func testIdenticalKeySetsAreAmbiguous() throws {
        // An EfficientNet whose stages mix squeeze-excitation and none is neither V1 nor Lite.
        var c = EfficientNetConfig.named["efficientnet_b0"]!
        c.stages[3].seRatio = nil
        XCTAssertThrowsError(try ArchitectureDetection.detect(Self.entries(of: .efficientnet(c)))) { error in
            XCTAssertTrue(error is DetectionError, "\(error)")
        }
    }

    /// Shapes from a hostile file: no rank, zero widths or widths that would make a candidate allocate
    /// far more than the file holds end in an error, never a trap or a huge allocation.
    func testHostileShapesAreErrorsNotTrapsOrAllocations() throws {
        let resnet = Self.entries(of: Zoo.spec(named: "resnet18")!).map { ($0.name, $0.tensor.shape) }
        func replaced(_ key: String, _ shape: [Int]) -> [(name: String, tensor: LazyTensor)] {
            Self.entries(resnet.map { $0.0 == key ? ($0.0, shape) : $0 })
        }
        for (key, shape) in [("fc.weight", []), ("layer1.0.conv2.weight", [64]), ("conv1.weight", [0, 3, 7, 7]),
                             ("layer2.0.conv2.weight", [128, 0, 3, 3]), ("layer4.0.conv2.weight", [1 << 19, 1, 1, 1]),
                             ("conv1.weight", [Int.max, 2, 2, 2])] {
            XCTAssertThrowsError(try ArchitectureDetection.detect(replaced(key, shape)), "\(key) \(shape)") { error in
                XCTAssertTrue(error is DetectionError, "\(error)")
            }
        }
        let zeroDepthwise = Self.entries(of: Zoo.spec(named: "mobilenet_v2")!).map { entry -> (String, [Int]) in
            entry.name == "features.1.conv.0.0.weight" ? (entry.name, [32, 0, 3, 3]) : (entry.name, entry.tensor.shape)
        }
        XCTAssertThrowsError(try ArchitectureDetection.detect(Self.entries(zeroDepthwise)))
    }

    /// efficientnet_pytorch names every block globally (`_blocks.N`), so detection tries each builder's
    /// block layout: a full-size B0 in that naming (its keys written out here from torchvision's B0 module
    /// by module) comes back as efficientnet_b0 under the efficientnet_pytorch scheme.
    func testEfficientNetPytorchNamesAreDetected() throws {
        let spec = Zoo.spec(named: "efficientnet_b0")!
        let shapes = Dictionary(uniqueKeysWithValues: Self.entries(of: spec).map { ($0.name, $0.tensor.shape) })
        var out: [(String, [Int])] = []
        func norm(_ from: String, _ to: String) {
            for p in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(to).\(p)", shapes["\(from).\(p)"]!)) }
            out.append(("\(to).num_batches_tracked", []))
        }
        out.append(("_conv_stem.weight", shapes["features.0.0.weight"]!))
        norm("features.0.1", "_bn0")
        var n = 0
        for stage in 1...7 {
            var block = 0
            while shapes["features.\(stage).\(block).block.0.0.weight"] != nil {
                let p = "features.\(stage).\(block).block", to = "_blocks.\(n)"
                let expands = shapes["\(p).3.0.weight"] != nil
                var i = 0
                if expands {
                    out.append(("\(to)._expand_conv.weight", shapes["\(p).0.0.weight"]!))
                    norm("\(p).0.1", "\(to)._bn0")
                    i = 1
                }
                out.append(("\(to)._depthwise_conv.weight", shapes["\(p).\(i).0.weight"]!))
                norm("\(p).\(i).1", "\(to)._bn1")
                for (a, b) in [("fc1", "_se_reduce"), ("fc2", "_se_expand")] {
                    out.append(("\(to).\(b).weight", shapes["\(p).\(i + 1).\(a).weight"]!))
                    out.append(("\(to).\(b).bias", shapes["\(p).\(i + 1).\(a).bias"]!))
                }
                out.append(("\(to)._project_conv.weight", shapes["\(p).\(i + 2).0.weight"]!))
                norm("\(p).\(i + 2).1", "\(to)._bn2")
                block += 1
                n += 1
            }
        }
        out.append(("_conv_head.weight", shapes["features.8.0.weight"]!))
        norm("features.8.1", "_bn1")
        out.append(("_fc.weight", shapes["classifier.1.weight"]!))
        out.append(("_fc.bias", shapes["classifier.1.bias"]!))
        XCTAssertEqual(n, 16)
        let found = try ArchitectureDetection.detect(Self.entries(out))
        XCTAssertEqual(found.arch, "efficientnet_b0")
        XCTAssertEqual(found.scheme, .efficientnetPytorch)
    }

    /// Issue 16's key-count case: a miniature ResNet plus 20,000 extra `layer1.{i}.bn1.num_batches_tracked`
    /// keys. Read as the family `resnet` it is a 20,101-block layer1: loading ends in an error within
    /// seconds, and detection names why nothing fits.
    func testExtraBlockKeysCannotBuildAGiantNetwork() throws {
        let source = try WeightStore.open(TestPaths.fixture("torch/resnet18_mini.pth"))
        var entries = source.entries.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
        let original = entries.count
        for i in 100..<20_100 { entries.append(("layer1.\(i).bn1.num_batches_tracked", .int64, [])) }
        let path = TestPaths.temporaryDirectory("many-keys").appendingPathComponent("many.safetensors").path
        try SafetensorsWriter.write(to: path, entries: entries, metadata: []) { i in
            i < original ? try source.entries[i].tensor.load().data : ByteBuffer([UInt8](repeating: 0, count: 8))
        }
        let store = try WeightStore.open(path)
        let start = Date()
        // At miniature widths 20,100 blocks still fit the budget, so the strict load names the missing
        // keys; at full width (resnet18) the build itself is refused as implausibly large.
        XCTAssertThrowsError(try ModelLoader.load(arch: "resnet", store: store)) { error in
            XCTAssertTrue(error is LoadError || error is ZooError, "\(error)")
        }
        XCTAssertThrowsError(try ModelLoader.load(store: store)) { error in
            XCTAssertTrue("\(error)".contains("exceed"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), runningUnderThreadSanitizer ? 60 : 10)
    }
}
