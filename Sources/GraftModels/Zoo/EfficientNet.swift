// EfficientNet as torchvision builds it (torchvision/models/efficientnet.py): "EfficientNet: Rethinking
// Model Scaling for Convolutional Neural Networks", Tan & Le 2019, https://arxiv.org/abs/1905.11946, and
// EfficientNetV2 (https://arxiv.org/abs/2104.00298). The same graph serves EfficientNet-Lite (no
// squeeze-excitation, ReLU6) and the TF ports (TF "same" padding, BatchNorm eps 1e-3) through
// `EfficientNetConfig`.

import GraftNN
import GraftTensor

enum EfficientNetBuilder {
    static func build(_ c: EfficientNetConfig, arch: String, vb: VarBuilder, random: RandomSource,
                      stochasticDepthProbability: Float = 0.2) -> Model {
        let act: Activation = c.activation == .silu ? .silu : .relu6
        let tfSame = c.padding == .tfSame
        let features = vb.scope("features")
        func conv(_ v: VarBuilder, _ inC: Int, _ outC: Int, k: Int, s: Int = 1, groups: Int = 1, _ a: Activation) -> ConvNormActivation {
            LayerFactory.convNormAct(v.scope(0), norm: v.scope(1),
                .init(inChannels: inC, outChannels: outC, kernel: k, stride: s, padding: (k - 1) / 2, groups: groups, tfSame: tfSame),
                activation: a, eps: c.bnEps, momentum: c.bnMomentum)
        }
        var units: [Layer] = []
        if c.kerasInputNormalization { units.append(KerasInputNormalization(vb.scope("normalization"))) }
        units.append(conv(features.scope(0), 3, c.stemChannels, k: 3, s: 2, act))
        let total = c.stages.reduce(0) { $0 + $1.layers }
        var blockID = 0
        for (si, stage) in c.stages.enumerated() {
            var blocks: [Layer] = []
            for b in 0..<stage.layers {
                let inC = b == 0 ? stage.inChannels : stage.outChannels
                let stride = b == 0 ? stage.stride : 1
                let vbb = features.scope(si + 1).scope(b).scope("block")
                var parts: [Layer] = []
                let expanded = EfficientNetConfig.makeDivisible(Double(inC * stage.expandRatio))
                switch stage.kind {
                case .mbconv:
                    var i = 0
                    if expanded != inC { parts.append(conv(vbb.scope(i), inC, expanded, k: 1, act)); i += 1 }
                    parts.append(conv(vbb.scope(i), expanded, expanded, k: stage.kernel, s: stride, groups: expanded, act)); i += 1
                    if let ratio = stage.seRatio {
                        let squeeze = c.squeezeChannels(input: inC, expanded: expanded, expandRatio: stage.expandRatio, seRatio: ratio)
                        let se = vbb.scope(i)
                        parts.append(SqueezeExcitation(
                            reduce: LayerFactory.convNormAct(se.scope("fc1"), norm: nil,
                                .init(inChannels: expanded, outChannels: squeeze, kernel: 1, bias: true), activation: act, eps: c.bnEps),
                            expand: LayerFactory.convNormAct(se.scope("fc2"), norm: nil,
                                .init(inChannels: squeeze, outChannels: expanded, kernel: 1, bias: true), activation: .sigmoid, eps: c.bnEps)))
                        i += 1
                    }
                    parts.append(conv(vbb.scope(i), expanded, stage.outChannels, k: 1, .none))
                case .fused:
                    if expanded != inC {
                        parts.append(conv(vbb.scope(0), inC, expanded, k: stage.kernel, s: stride, act))
                        parts.append(conv(vbb.scope(1), expanded, stage.outChannels, k: 1, .none))
                    } else {
                        parts.append(conv(vbb.scope(0), inC, stage.outChannels, k: stage.kernel, s: stride, act))
                    }
                }
                let residual = stride == 1 && inC == stage.outChannels && (b > 0 || c.firstBlockResidual)
                let p = stochasticDepthProbability * Float(blockID) / Float(max(total, 1))
                blocks.append(InvertedResidual(block: Sequential(parts),
                                               stochasticDepth: residual ? StochasticDepth(probability: p, random: random) : nil,
                                               residual: residual))
                blockID += 1
            }
            units.append(Sequential(blocks))
        }
        let last = c.stages.last?.outChannels ?? c.stemChannels
        units.append(conv(features.scope(c.stages.count + 1), last, c.headChannels, k: 1, act))
        units.append(GlobalAvgPoolFlatten())
        let fc = LayerFactory.linear(vb.scope("classifier").scope(1), inFeatures: c.headChannels, outFeatures: c.numClasses,
                                     weightInit: .uniform(bound: 1 / Float(c.numClasses).squareRoot()), biasInit: .zeros)
        return Model(arch: arch, family: c.kerasInputNormalization ? .kerasEfficientNet : .efficientnet, body: Sequential(units),
                     headDropout: Dropout(probability: c.dropout, random: random), classifier: fc,
                     classifierPrefix: "classifier.1", state: vb.source.entries, random: random)
    }
}
