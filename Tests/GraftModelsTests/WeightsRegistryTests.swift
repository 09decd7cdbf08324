import GraftImage
import GraftModels
import XCTest

/// The registry holds every torchvision weight of the CNN families (tools/gen_weights_registry.py).
final class WeightsRegistryTests: XCTestCase {
    func testEveryFamilyHasItsWeightsAndOneDefault() throws {
        let archs = Set(WeightsRegistry.all.map(\.arch))
        for arch in ["alexnet", "googlenet", "inception_v3", "squeezenet1_0", "squeezenet1_1", "densenet121", "densenet201",
                     "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "mnasnet1_3",
                     "shufflenet_v2_x0_5", "shufflenet_v2_x2_0", "regnet_x_400mf", "regnet_y_128gf", "convnext_tiny",
                     "convnext_large", "resnet50", "vgg16_bn", "efficientnet_v2_l"] {
            XCTAssertTrue(archs.contains(arch), arch)
            XCTAssertEqual(WeightsRegistry.all.filter { $0.arch == arch && $0.isDefault }.count, 1, arch)
        }
        XCTAssertEqual(WeightsRegistry.all.count, 98 + 5)  // torchvision 0.29.2's, plus EfficientNet-Lite0…4
    }

    func testPresetsFileNamesAndHashPrefixes() throws {
        let v2 = try WeightsRegistry.lookup("ResNet50_Weights.IMAGENET1K_V2")
        XCTAssertEqual(v2.fileName, "resnet50-11ad3fa6.pth")
        XCTAssertEqual(v2.sha256Prefix, "11ad3fa6")
        XCTAssertEqual(v2.preset, ClassificationPreset(resizeSize: 232, cropSize: 224))
        let inception = try XCTUnwrap(WeightsRegistry.defaultWeights(for: "inception_v3"))
        XCTAssertEqual([inception.resizeSize, inception.cropSize], [342, 299])
        XCTAssertEqual(try WeightsRegistry.lookup("DEFAULT", arch: "convnext_tiny").interpolation, .bilinear)
        XCTAssertEqual(try WeightsRegistry.lookup("DEFAULT", arch: "convnext_tiny").resizeSize, 236)
        XCTAssertNil(WeightsRegistry.defaultWeights(for: "efficientnet_lite0")?.sha256Prefix)
    }
}
