import Foundation
import GraftImage
import GraftModels
import GraftModelsXNN
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// A frozen-backbone fine-tune that learns, for every family of the zoo: the torchvision builder with
/// seeded random weights gets a new three-class head (each family's classifier path), its backbone is
/// frozen, and it trains on a small folder of noisy red, green and blue images (written by the test).
/// A random backbone has no trained statistics, so its BatchNorm layers first take the training
/// images' (one pass, momentum 1); then they stay frozen like every weight of the backbone. A random
/// backbone still carries colour, so the head must classify held-out images well above chance, and
/// the training loss must fall.
final class ZooFineTuneTests: XCTestCase {
    static let archs = ["resnet18", "vgg11_bn", "efficientnet_b0", "convnext_tiny", "mobilenet_v2", "mobilenet_v3_small",
                        "mnasnet0_5", "alexnet", "squeezenet1_1", "googlenet", "inception_v3", "densenet121",
                        "shufflenet_v2_x0_5", "regnet_x_400mf", "regnet_y_400mf"]

    func testFrozenBackboneFineTuneLearnsForEveryFamily() throws {
        let data = try ImageFolder.load(try Self.colourFolder().path)
        var report: [String] = []
        for arch in Self.archs {
            let model = try ModelLoader.random(arch: arch, seed: 3)
            try HeadReplacement.replace(model, classes: data.classes, seed: 0)
            XCTAssertEqual(model.numClasses, 3, arch)
            let crop = arch == "inception_v3" ? 96 : 64
            let preset = ClassificationPreset(resizeSize: crop + 8, cropSize: crop, interpolation: .bilinear,
                                              mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
            try Self.calibrateBatchNorm(model, data.train.map(\.path), preset)
            var s = FineTuneSettings()
            let squeeze = arch.hasPrefix("squeezenet")
            s.epochs = squeeze ? 20 : 8
            s.batchSize = 8
            // SqueezeNet's classifier is a convolution followed by a ReLU: Adam's first steps leave every
            // logit at zero for good; torchvision's fine-tuning tutorial trains it with SGD and momentum,
            // and it needs more epochs than the others.
            s.optimizer = squeeze ? .sgd : .adamw
            s.learningRate = .single(squeeze ? 1e-2 : 3e-3)
            s.schedule = .constant
            s.augment = false
            let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
            let before = model.namedParameters().filter { !$0.name.hasPrefix(model.classifierPath + ".") }
                .map { ($0.name, $0.parameter.value.values) }
            try tuner.run()
            let trainable = model.namedParameters().filter { $0.parameter.isTrainable }.map(\.name)
            XCTAssertTrue(trainable.allSatisfy { $0.hasPrefix(model.classifierPath + ".") }, "\(arch): \(trainable)")
            let after = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter) })
            for (name, values) in before where !name.contains("running_") && !name.hasSuffix("num_batches_tracked") {
                XCTAssertEqual(after[name]?.value.values, values, "\(arch): the frozen \(name) changed")
            }
            let first = try XCTUnwrap(tuner.history.first), last = try XCTUnwrap(tuner.history.last)
            // Cached features come from XNNPACK wherever it covers the network (concatenating families: Graft),
            // except where Graft's kernels were measured faster (VGG, ConvNeXt).
            if last.cachedFeatures {
                let covered = (try? XNNInference.check(model, height: crop, width: crop)) != nil
                let expected = covered && ![.vgg, .convnext].contains(model.family) ? "xnnpack" : "graft"
                XCTAssertEqual(tuner.featureEngineUsed, expected, arch)
            }
            report.append("\(arch): train loss \(first.trainLoss) → \(last.trainLoss), val accuracy "
                          + "\(tuner.history.map(\.valAccuracy)), cached features \(last.cachedFeatures)")
            // SqueezeNet's ReLU after the classifier keeps half its logits at zero: its loss falls more slowly.
            XCTAssertLessThan(last.trainLoss, first.trainLoss * (squeeze ? 0.85 : 0.7), arch)
            // Random features of the deepest depthwise networks fit the training images far better than they
            // carry over (MobileNetV2 and RegNetX-400MF reach about 0.55): above chance is what is asked.
            XCTAssertGreaterThanOrEqual(tuner.history.map(\.valAccuracy).max() ?? 0, 0.5, "\(arch): chance is 1/3")
        }
        print(report.joined(separator: "\n"))
    }

    /// The feature cache on XNNPACK and on Graft's kernels trains the same head: the features agree to
    /// float rounding, so the losses agree to 1e-4 and the accuracies exactly.
    func testFeatureCacheOnXNNPACKTrainsAsOnGraftsKernels() throws {
        let data = try ImageFolder.load(try Self.colourFolder().path)
        let preset = ClassificationPreset(resizeSize: 72, cropSize: 64, interpolation: .bilinear,
                                          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        for arch in ["resnet18", "efficientnet_b0", "convnext_tiny"] {
            var runs: [(engine: String?, history: [EpochReport])] = []
            for engine in [InferenceEngineChoice.graft, .xnnpack] {
                let model = try ModelLoader.random(arch: arch, seed: 3)
                try HeadReplacement.replace(model, classes: data.classes, seed: 0)
                var s = FineTuneSettings()
                (s.epochs, s.batchSize, s.optimizer, s.schedule, s.augment) = (3, 8, .adamw, .constant, false)
                s.featureEngine = engine
                let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
                try tuner.run()
                XCTAssertTrue(tuner.history.allSatisfy(\.cachedFeatures), arch)
                runs.append((tuner.featureEngineUsed, tuner.history))
            }
            XCTAssertEqual(runs.map(\.engine), ["graft", "xnnpack"], arch)
            for (a, b) in zip(runs[0].history, runs[1].history) {
                XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-4, arch)
                XCTAssertEqual(a.valLoss, b.valLoss, accuracy: 1e-4, arch)
                XCTAssertEqual(a.valAccuracy, b.valAccuracy, arch)
            }
        }
    }

    /// Running statistics from one training-mode pass over `paths` (Inception v3 needs at least 75
    /// pixels; the others run at 64).
    static func calibrateBatchNorm(_ model: Model, _ paths: [String], _ preset: ClassificationPreset) throws {
        var values: [Float] = []
        for path in paths { values += try preset(try ImageDecoder.decode(path: path)).values }
        let x = try Tensor(shape: [paths.count, 3, preset.cropSize, preset.cropSize], values: values)
        let norms = model.modules.compactMap { $0 as? BatchNorm2d }
        for norm in norms { norm.momentum = 1 }
        model.setTraining(true)
        _ = try model.forward(x)
        model.setTraining(false)
        for norm in norms { norm.momentum = 0.1 }
    }

    /// train/ and val/ folders of 40×40 images, 20 and 10 per class: a base colour per class with
    /// per-pixel noise and a random dark rectangle, from a fixed seed.
    static func colourFolder() throws -> URL {
        let root = TestPaths.temporaryDirectory("zoo-finetune")
        var rng = SeededGenerator(seed: 11)
        let bases: [(String, [Int])] = [("blue", [60, 70, 190]), ("green", [60, 180, 70]), ("red", [190, 60, 60])]
        for (split, count) in [("train", 20), ("val", 10)] {
            for (name, base) in bases {
                let dir = root.appendingPathComponent("\(split)/\(name)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for i in 0..<count {
                    var pixels = [UInt8](repeating: 0, count: 40 * 40 * 3)
                    let (x0, y0) = (Int(rng.nextUnitFloat() * 20), Int(rng.nextUnitFloat() * 20))
                    for y in 0..<40 {
                        for x in 0..<40 {
                            let dark = x >= x0 && x < x0 + 10 && y >= y0 && y < y0 + 10
                            for c in 0..<3 {
                                let v = Float(base[c]) * (dark ? 0.7 : 1) + (rng.nextUnitFloat() - 0.5) * 60
                                pixels[(y * 40 + x) * 3 + c] = UInt8(max(0, min(255, v)))
                            }
                        }
                    }
                    try PNGWriter.write(try RGBImage(width: 40, height: 40, pixels: pixels),
                                        to: dir.appendingPathComponent("\(i).png").path)
                }
            }
        }
        return root
    }

    /// With the backbone frozen and its statistics kept, the features are cached exactly when they are
    /// pooled rows and nothing before them is random: not SqueezeNet (its features are a map), not the
    /// families whose hidden classifier layers drop out (VGG, AlexNet, MobileNetV3).
    func testFeatureCachingWhereTheBodyIsFixed() throws {
        let uncached: Set = ["squeezenet1_1", "vgg11_bn", "alexnet", "mobilenet_v3_small"]
        for arch in Self.archs {
            let model = try ModelLoader.random(arch: arch, seed: 3)
            try HeadReplacement.replace(model, classes: ["a", "b"], seed: 0)
            try Freezing.apply(model, freeze: .backbone, unfrozen: [], bn: .frozen)
            model.setTraining(true)
            XCTAssertEqual(Freezing.bodyIsFixed(model), !uncached.contains(arch), arch)
            XCTAssertEqual(model.featuresArePooled, arch != "squeezenet1_1", arch)
        }
    }
}
