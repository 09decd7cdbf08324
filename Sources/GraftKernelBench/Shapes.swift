import GraftTensor

/// One convolution of a network, with how many times it occurs in one forward pass.
struct ConvShape {
    let name: String
    let inC: Int, outC: Int, k: Int, stride: Int, size: Int
    var groups = 1
    var activation: Activation = .none
    var count = 1

    var padding: Int { (k - 1) / 2 }
    var outSize: Int { (size + 2 * padding - k) / stride + 1 }

    /// Multiply-adds × 2 for a batch.
    func flops(batch: Int) -> Double {
        2 * Double(batch) * Double(outC) * Double(outSize * outSize) * Double(inC / groups * k * k)
    }
}

/// torchvision ResNet-50 (v1.5: stride on the 3×3) at 224, BN folded (bias), ReLU where it applies.
let resnet50Convs: [ConvShape] = [
    ConvShape(name: "stem 7x7 s2 3→64 @224", inC: 3, outC: 64, k: 7, stride: 2, size: 224, activation: .relu),
    ConvShape(name: "1x1 64→64 @56", inC: 64, outC: 64, k: 1, stride: 1, size: 56, activation: .relu),
    ConvShape(name: "1x1 256→64 @56", inC: 256, outC: 64, k: 1, stride: 1, size: 56, activation: .relu, count: 2),
    ConvShape(name: "3x3 64→64 @56", inC: 64, outC: 64, k: 3, stride: 1, size: 56, activation: .relu, count: 3),
    ConvShape(name: "1x1 64→256 @56", inC: 64, outC: 256, k: 1, stride: 1, size: 56, count: 4),
    ConvShape(name: "1x1 256→128 @56", inC: 256, outC: 128, k: 1, stride: 1, size: 56, activation: .relu),
    ConvShape(name: "3x3 s2 128→128 @56", inC: 128, outC: 128, k: 3, stride: 2, size: 56, activation: .relu),
    ConvShape(name: "1x1 s2 256→512 @56", inC: 256, outC: 512, k: 1, stride: 2, size: 56),
    ConvShape(name: "1x1 128→512 @28", inC: 128, outC: 512, k: 1, stride: 1, size: 28, count: 4),
    ConvShape(name: "1x1 512→128 @28", inC: 512, outC: 128, k: 1, stride: 1, size: 28, activation: .relu, count: 3),
    ConvShape(name: "3x3 128→128 @28", inC: 128, outC: 128, k: 3, stride: 1, size: 28, activation: .relu, count: 3),
    ConvShape(name: "1x1 512→256 @28", inC: 512, outC: 256, k: 1, stride: 1, size: 28, activation: .relu),
    ConvShape(name: "3x3 s2 256→256 @28", inC: 256, outC: 256, k: 3, stride: 2, size: 28, activation: .relu),
    ConvShape(name: "1x1 s2 512→1024 @28", inC: 512, outC: 1024, k: 1, stride: 2, size: 28),
    ConvShape(name: "1x1 256→1024 @14", inC: 256, outC: 1024, k: 1, stride: 1, size: 14, count: 6),
    ConvShape(name: "1x1 1024→256 @14", inC: 1024, outC: 256, k: 1, stride: 1, size: 14, activation: .relu, count: 5),
    ConvShape(name: "3x3 256→256 @14", inC: 256, outC: 256, k: 3, stride: 1, size: 14, activation: .relu, count: 5),
    ConvShape(name: "1x1 1024→512 @14", inC: 1024, outC: 512, k: 1, stride: 1, size: 14, activation: .relu),
    ConvShape(name: "3x3 s2 512→512 @14", inC: 512, outC: 512, k: 3, stride: 2, size: 14, activation: .relu),
    ConvShape(name: "1x1 s2 1024→2048 @14", inC: 1024, outC: 2048, k: 1, stride: 2, size: 14),
    ConvShape(name: "1x1 512→2048 @7", inC: 512, outC: 2048, k: 1, stride: 1, size: 7, count: 3),
    ConvShape(name: "1x1 2048→512 @7", inC: 2048, outC: 512, k: 1, stride: 1, size: 7, activation: .relu, count: 2),
    ConvShape(name: "3x3 512→512 @7", inC: 512, outC: 512, k: 3, stride: 1, size: 7, activation: .relu, count: 2),
]

/// torchvision EfficientNet-B0 at 224 (SE convs at 1×1 spatial are left out: negligible).
let efficientNetB0Convs: [ConvShape] = [
    ConvShape(name: "stem 3x3 s2 3→32 @224", inC: 3, outC: 32, k: 3, stride: 2, size: 224, activation: .silu),
    ConvShape(name: "dw3 32 @112", inC: 32, outC: 32, k: 3, stride: 1, size: 112, groups: 32, activation: .silu),
    ConvShape(name: "1x1 32→16 @112", inC: 32, outC: 16, k: 1, stride: 1, size: 112),
    ConvShape(name: "1x1 16→96 @112", inC: 16, outC: 96, k: 1, stride: 1, size: 112, activation: .silu),
    ConvShape(name: "dw3 s2 96 @112", inC: 96, outC: 96, k: 3, stride: 2, size: 112, groups: 96, activation: .silu),
    ConvShape(name: "1x1 96→24 @56", inC: 96, outC: 24, k: 1, stride: 1, size: 56),
    ConvShape(name: "1x1 24→144 @56", inC: 24, outC: 144, k: 1, stride: 1, size: 56, activation: .silu, count: 2),
    ConvShape(name: "dw3 144 @56", inC: 144, outC: 144, k: 3, stride: 1, size: 56, groups: 144, activation: .silu),
    ConvShape(name: "1x1 144→24 @56", inC: 144, outC: 24, k: 1, stride: 1, size: 56),
    ConvShape(name: "dw5 s2 144 @56", inC: 144, outC: 144, k: 5, stride: 2, size: 56, groups: 144, activation: .silu),
    ConvShape(name: "1x1 144→40 @28", inC: 144, outC: 40, k: 1, stride: 1, size: 28),
    ConvShape(name: "1x1 40→240 @28", inC: 40, outC: 240, k: 1, stride: 1, size: 28, activation: .silu, count: 2),
    ConvShape(name: "dw5 240 @28", inC: 240, outC: 240, k: 5, stride: 1, size: 28, groups: 240, activation: .silu),
    ConvShape(name: "1x1 240→40 @28", inC: 240, outC: 40, k: 1, stride: 1, size: 28),
    ConvShape(name: "dw3 s2 240 @28", inC: 240, outC: 240, k: 3, stride: 2, size: 28, groups: 240, activation: .silu),
    ConvShape(name: "1x1 240→80 @14", inC: 240, outC: 80, k: 1, stride: 1, size: 14),
    ConvShape(name: "1x1 80→480 @14", inC: 80, outC: 480, k: 1, stride: 1, size: 14, activation: .silu, count: 3),
    ConvShape(name: "dw3 480 @14", inC: 480, outC: 480, k: 3, stride: 1, size: 14, groups: 480, activation: .silu,
              count: 2),
    ConvShape(name: "1x1 480→80 @14", inC: 480, outC: 80, k: 1, stride: 1, size: 14, count: 2),
    ConvShape(name: "dw5 480 @14", inC: 480, outC: 480, k: 5, stride: 1, size: 14, groups: 480, activation: .silu),
    ConvShape(name: "1x1 480→112 @14", inC: 480, outC: 112, k: 1, stride: 1, size: 14),
    ConvShape(name: "1x1 112→672 @14", inC: 112, outC: 672, k: 1, stride: 1, size: 14, activation: .silu, count: 3),
    ConvShape(name: "dw5 672 @14", inC: 672, outC: 672, k: 5, stride: 1, size: 14, groups: 672, activation: .silu,
              count: 2),
    ConvShape(name: "1x1 672→112 @14", inC: 672, outC: 112, k: 1, stride: 1, size: 14, count: 2),
    ConvShape(name: "dw5 s2 672 @14", inC: 672, outC: 672, k: 5, stride: 2, size: 14, groups: 672, activation: .silu),
    ConvShape(name: "1x1 672→192 @7", inC: 672, outC: 192, k: 1, stride: 1, size: 7),
    ConvShape(name: "1x1 192→1152 @7", inC: 192, outC: 1152, k: 1, stride: 1, size: 7, activation: .silu, count: 4),
    ConvShape(name: "dw5 1152 @7", inC: 1152, outC: 1152, k: 5, stride: 1, size: 7, groups: 1152, activation: .silu,
              count: 3),
    ConvShape(name: "1x1 1152→192 @7", inC: 1152, outC: 192, k: 1, stride: 1, size: 7, count: 3),
    ConvShape(name: "dw3 1152 @7", inC: 1152, outC: 1152, k: 3, stride: 1, size: 7, groups: 1152, activation: .silu),
    ConvShape(name: "1x1 1152→320 @7", inC: 1152, outC: 320, k: 1, stride: 1, size: 7),
    ConvShape(name: "1x1 320→1280 @7", inC: 320, outC: 1280, k: 1, stride: 1, size: 7, activation: .silu),
]

/// torchvision VGG-16 convolutions (3×3, padding 1, bias, ReLU).
let vgg16Convs: [ConvShape] = [
    ConvShape(name: "3x3 3→64 @224", inC: 3, outC: 64, k: 3, stride: 1, size: 224, activation: .relu),
    ConvShape(name: "3x3 64→64 @224", inC: 64, outC: 64, k: 3, stride: 1, size: 224, activation: .relu),
    ConvShape(name: "3x3 64→128 @112", inC: 64, outC: 128, k: 3, stride: 1, size: 112, activation: .relu),
    ConvShape(name: "3x3 128→128 @112", inC: 128, outC: 128, k: 3, stride: 1, size: 112, activation: .relu),
    ConvShape(name: "3x3 128→256 @56", inC: 128, outC: 256, k: 3, stride: 1, size: 56, activation: .relu),
    ConvShape(name: "3x3 256→256 @56", inC: 256, outC: 256, k: 3, stride: 1, size: 56, activation: .relu, count: 2),
    ConvShape(name: "3x3 256→512 @28", inC: 256, outC: 512, k: 3, stride: 1, size: 28, activation: .relu),
    ConvShape(name: "3x3 512→512 @28", inC: 512, outC: 512, k: 3, stride: 1, size: 28, activation: .relu, count: 2),
    ConvShape(name: "3x3 512→512 @14", inC: 512, outC: 512, k: 3, stride: 1, size: 14, activation: .relu, count: 3),
]

/// ResNet-18 convolutions (for the training-step backward benchmark).
let resnet18Convs: [ConvShape] = [
    ConvShape(name: "stem 7x7 s2 3→64 @224", inC: 3, outC: 64, k: 7, stride: 2, size: 224),
    ConvShape(name: "3x3 64→64 @56", inC: 64, outC: 64, k: 3, stride: 1, size: 56, count: 4),
    ConvShape(name: "3x3 s2 64→128 @56", inC: 64, outC: 128, k: 3, stride: 2, size: 56),
    ConvShape(name: "1x1 s2 64→128 @56", inC: 64, outC: 128, k: 1, stride: 2, size: 56),
    ConvShape(name: "3x3 128→128 @28", inC: 128, outC: 128, k: 3, stride: 1, size: 28, count: 3),
    ConvShape(name: "3x3 s2 128→256 @28", inC: 128, outC: 256, k: 3, stride: 2, size: 28),
    ConvShape(name: "1x1 s2 128→256 @28", inC: 128, outC: 256, k: 1, stride: 2, size: 28),
    ConvShape(name: "3x3 256→256 @14", inC: 256, outC: 256, k: 3, stride: 1, size: 14, count: 3),
    ConvShape(name: "3x3 s2 256→512 @14", inC: 256, outC: 512, k: 3, stride: 2, size: 14),
    ConvShape(name: "1x1 s2 256→512 @14", inC: 256, outC: 512, k: 1, stride: 2, size: 14),
    ConvShape(name: "3x3 512→512 @7", inC: 512, outC: 512, k: 3, stride: 1, size: 7, count: 3),
]

/// torchvision ConvNeXt-Tiny at 224 after its 4×4 stem: per stage the 7×7 depthwise convolution and the
/// two pointwise Linear layers (computed as 1×1 convolutions; GELU runs apart), and the 2×2 stride-2
/// downsampling convolutions between stages.
let convNeXtTinyConvs: [ConvShape] = [(96, 56, 3), (192, 28, 3), (384, 14, 9), (768, 7, 3)].flatMap { c, size, depth in
    [ConvShape(name: "dw7 \(c) @\(size)", inC: c, outC: c, k: 7, stride: 1, size: size, groups: c, count: depth),
     ConvShape(name: "1x1 \(c)→\(4 * c) @\(size)", inC: c, outC: 4 * c, k: 1, stride: 1, size: size, count: depth),
     ConvShape(name: "1x1 \(4 * c)→\(c) @\(size)", inC: 4 * c, outC: c, k: 1, stride: 1, size: size, count: depth)]
} + [(96, 56), (192, 28), (384, 14)].map { c, size in
    ConvShape(name: "2x2 s2 \(c)→\(2 * c) @\(size)", inC: c, outC: 2 * c, k: 2, stride: 2, size: size)
}
