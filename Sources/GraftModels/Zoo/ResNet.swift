// ResNet as torchvision builds it (torchvision/models/resnet.py): "Deep Residual Learning for Image
// Recognition", He et al. 2015, https://arxiv.org/abs/1512.03385, in the v1.5 form whose bottleneck puts
// the stride on the 3×3 convolution; ResNeXt (groups) and Wide ResNet (width per group) are the same
// graph with other numbers.

import GraftNN
import GraftTensor

enum ResNetBuilder {
    static func build(_ config: ResNetConfig, arch: String, vb: VarBuilder, random: RandomSource) -> Model {
        let eps = config.bnEps
        let keras = config.style == .keras
        var inplanes = config.stemWidth ?? config.widths[0]
        let stem = LayerFactory.convNormAct(
            vb.scope("conv1"), norm: vb.scope("bn1"),
            .init(inChannels: 3, outChannels: inplanes, kernel: 7, stride: 2, padding: 3, bias: keras), activation: .relu, eps: eps)
        // torchvision pads the max pool with −inf; Keras pools over ZeroPadding2D(1) (the same after a
        // ReLU, but kept exact).
        let pool: [Layer] = keras
            ? [ZeroPad2d(top: 1, left: 1, bottom: 1, right: 1), MaxPool2d(Pool2dParams(kernel: 3, stride: 2))]
            : [MaxPool2d(Pool2dParams(kernel: 3, stride: 2, padding: 1))]
        var units: [Layer] = [stem] + pool
        for (stage, (planes, count)) in zip(config.widths, config.layers).enumerated() {
            let layerVB = vb.scope("layer\(stage + 1)")
            var blocks: [Layer] = []
            for i in 0..<count {
                let stride = i == 0 && stage > 0 ? 2 : 1
                blocks.append(block(config, vb: layerVB.scope(i), inplanes: inplanes, planes: planes, stride: stride, first: i == 0))
                inplanes = planes * config.expansion
            }
            units.append(Sequential(blocks))
        }
        units.append(GlobalAvgPoolFlatten())
        let fc = LayerFactory.linear(vb.scope("fc"), inFeatures: inplanes, outFeatures: config.numClasses)
        return Model(arch: arch, family: keras ? .kerasResNet : .resnet, body: Sequential(units), headDropout: nil, classifier: fc,
                     classifierPrefix: "fc", state: vb.source.entries, random: random)
    }

    /// BasicBlock (3×3, 3×3) or Bottleneck (1×1, 3×3 with the stride and groups, 1×1 ×4), with a
    /// 1×1 conv + BN projection when the shape changes.
    static func block(_ c: ResNetConfig, vb: VarBuilder, inplanes: Int, planes: Int, stride: Int, first: Bool) -> ResidualBlock {
        let eps = c.bnEps
        let keras = c.style == .keras
        // Keras (v1) strides the first 1×1; torchvision (v1.5) the 3×3.
        let (s1, s2) = keras ? (stride, 1) : (1, stride)
        let outChannels = planes * c.expansion
        var main: [Layer]
        switch c.block {
        case .basic:
            main = [
                LayerFactory.convNormAct(vb.scope("conv1"), norm: vb.scope("bn1"),
                    .init(inChannels: inplanes, outChannels: planes, kernel: 3, stride: stride, padding: 1), activation: .relu, eps: eps),
                LayerFactory.convNormAct(vb.scope("conv2"), norm: vb.scope("bn2"),
                    .init(inChannels: planes, outChannels: planes, kernel: 3, padding: 1), activation: .none, eps: eps),
            ]
        case .bottleneck:
            let width = planes * c.widthPerGroup / 64 * c.groups
            main = [
                LayerFactory.convNormAct(vb.scope("conv1"), norm: vb.scope("bn1"),
                    .init(inChannels: inplanes, outChannels: width, kernel: 1, stride: s1, bias: keras), activation: .relu, eps: eps),
                LayerFactory.convNormAct(vb.scope("conv2"), norm: vb.scope("bn2"),
                    .init(inChannels: width, outChannels: width, kernel: 3, stride: s2, padding: 1, groups: c.groups, bias: keras),
                    activation: .relu, eps: eps),
                LayerFactory.convNormAct(vb.scope("conv3"), norm: vb.scope("bn3"),
                    .init(inChannels: width, outChannels: outChannels, kernel: 1, bias: keras), activation: .none, eps: eps),
            ]
        }
        var downsample: ConvNormActivation?
        // Keras gives every stage's first block a projection shortcut, whatever the shapes.
        if keras ? first : (stride != 1 || inplanes != outChannels) {
            let d = vb.scope("downsample")
            downsample = LayerFactory.convNormAct(d.scope(0), norm: d.scope(1),
                .init(inChannels: inplanes, outChannels: outChannels, kernel: 1, stride: stride, bias: keras), activation: .none, eps: eps)
        }
        return ResidualBlock(main: Sequential(main), downsample: downsample)
    }
}
