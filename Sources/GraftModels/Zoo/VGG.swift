// VGG as torchvision builds it (torchvision/models/vgg.py): "Very Deep Convolutional Networks for
// Large-Scale Image Recognition", Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556.
// 3×3 convolutions with bias (and BatchNorm in the _bn variants), 2×2 max pools, an adaptive 7×7
// average pool — so any input of at least 32 pixels works — and a three-layer classifier.

import GraftNN
import GraftTensor

enum VGGBuilder {
    static func build(_ config: VGGConfig, arch: String, vb: VarBuilder, random: RandomSource) -> Model {
        let features = vb.scope("features")
        var layers: [Layer] = []
        var index = 0
        var channels = 3
        for item in config.items {
            switch item {
            case .pool:
                layers.append(MaxPool2d(Pool2dParams(kernel: 2, stride: 2)))
                index += 1
            case .conv(let out):
                // torch indices: conv, [bn], relu — the ReLU has no parameters but takes an index.
                let conv = LayerFactory.convNormAct(
                    features.scope(index), norm: config.batchNorm ? features.scope(index + 1) : nil,
                    .init(inChannels: channels, outChannels: out, kernel: 3, padding: 1, bias: true),
                    activation: .relu, eps: 1e-5)
                layers.append(conv)
                index += config.batchNorm ? 3 : 2
                channels = out
            }
        }
        let classifier = vb.scope("classifier")
        if let flat = config.kerasFlattenFeatures {
            // Keras: flatten the map as it is; dense layers with ReLU and no dropout.
            layers.append(Flatten())
            let fc1 = LayerFactory.linear(classifier.scope(0), inFeatures: flat, outFeatures: config.hidden, activation: .relu)
            let fc2 = LayerFactory.linear(classifier.scope(3), inFeatures: config.hidden, outFeatures: config.hidden, activation: .relu)
            layers += [fc1, fc2]
            let fc3 = LayerFactory.linear(classifier.scope(6), inFeatures: config.hidden, outFeatures: config.numClasses)
            return Model(arch: arch, family: .kerasVGG, body: Sequential(layers), headDropout: nil, classifier: fc3,
                         classifierPrefix: "classifier.6", state: vb.source.entries, random: random)
        }
        layers.append(AdaptiveAvgPool2d(height: 7, width: 7))
        layers.append(Flatten())
        // torchvision initializes VGG's linear layers with N(0, 0.01) and zero bias.
        // classifier.0/.3 with their ReLUs (1, 4) fused; dropouts 2 and 5.
        let fc1 = LayerFactory.linear(classifier.scope(0), inFeatures: channels * 49, outFeatures: config.hidden,
                                      weightInit: .normal(std: 0.01), biasInit: .zeros, activation: .relu)
        let fc2 = LayerFactory.linear(classifier.scope(3), inFeatures: config.hidden, outFeatures: config.hidden,
                                      weightInit: .normal(std: 0.01), biasInit: .zeros, activation: .relu)
        layers += [fc1, Dropout(probability: 0.5, random: random), fc2, Dropout(probability: 0.5, random: random)]
        let fc3 = LayerFactory.linear(classifier.scope(6), inFeatures: config.hidden, outFeatures: config.numClasses,
                                      weightInit: .normal(std: 0.01), biasInit: .zeros)
        return Model(arch: arch, family: .vgg, body: Sequential(layers), headDropout: nil, classifier: fc3,
                     classifierPrefix: "classifier.6", state: vb.source.entries, random: random)
    }
}
