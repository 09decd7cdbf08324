import GraftModels

/// The Keras miniatures' architectures, as tools/make_keras_fixtures.py built them with Keras' own
/// ResNet / EfficientNet builders and VGG16's layer names (see Fixtures/keras/README.md): the Keras
/// parity tests and the ONNX export tests load them with these specs.
public enum KerasMiniatures {
    public static let specs: [String: ArchSpec] = {
        var resnet = ResNetConfig.keras(layers: [2, 1], numClasses: 10)
        resnet.widths = [8, 16]
        resnet.stemWidth = 64
        var vgg = VGGConfig(items: [4, 4, 0, 8, 8, 0, 8, 8, 8, 0, 16, 16, 16, 0, 16, 16, 16, 0].map { $0 == 0 ? .pool : .conv($0) },
                            batchNorm: false, hidden: 32, numClasses: 10)
        vgg.kerasFlattenFeatures = 16 * 2 * 2
        var eff = EfficientNetConfig.named["EfficientNetB0"]!
        let scaled = EfficientNetConfig.v1(widthMult: 0.1, depthMult: 0.3, bnEps: 1e-3, numClasses: 10)
        eff.stages = scaled.stages
        eff.stemChannels = scaled.stemChannels
        eff.headChannels = EfficientNetConfig.makeDivisible(1280 * 0.1)
        eff.numClasses = 10
        return ["resnet_mini": .resnet(resnet), "vgg_mini": .vgg(vgg), "efficientnet_mini": .efficientnet(eff)]
    }()
}
