/// Every size a convolution kernel needs, derived once from validated operands.
struct ConvGeometry {
    let batch: Int, inChannels: Int, inH: Int, inW: Int
    let outChannels: Int, kernelH: Int, kernelW: Int
    let groups: Int
    let strideH: Int, strideW: Int
    let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    let dilationH: Int, dilationW: Int
    let outH: Int, outW: Int

    /// Input channels per group.
    var groupInChannels: Int { inChannels / groups }
    /// Output channels per group.
    var groupOutChannels: Int { outChannels / groups }
    var inPlane: Int { inH * inW }
    var outPlane: Int { outH * outW }
    /// Rows of the column matrix (the GEMM's inner dimension) per group.
    var columnRows: Int { groupInChannels * kernelH * kernelW }
    var outputShape: [Int] { [batch, outChannels, outH, outW] }

    /// A 1×1, stride-1, unpadded convolution reads each input plane as a GEMM operand directly.
    var isPointwiseDirect: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
    }

    /// One filter per input channel (channel multiplier 1).
    var isDepthwise: Bool { groups == inChannels && outChannels == inChannels && groups > 1 }

    /// Checks the operands of `op` and derives the sizes.
    init(op: String, input: [Int], weight: [Int], params p: Conv2dParams) throws {
        guard input.count == 4 else {
            throw TensorError.rankMismatch(op: op, operand: "input (N, C, H, W)", expected: 4, shape: input)
        }
        guard weight.count == 4 else {
            throw TensorError.rankMismatch(
                op: op, operand: "weight (O, C/groups, kH, kW)", expected: 4, shape: weight)
        }
        let g = p.groups
        guard g >= 1, input[1] >= 1, input[1] % g == 0, weight[0] >= 1, weight[0] % g == 0 else {
            throw TensorError.shapeMismatch(
                op: op, detail: "groups \(g) must divide input channels \(input[1]) and output channels \(weight[0])")
        }
        guard weight[1] == input[1] / g else {
            throw TensorError.shapeMismatch(
                op: op, detail: "weight has \(weight[1]) input channels per group, input gives \(input[1]) / \(g)")
        }
        guard input[0] >= 1, let out = p.outputSize(inputH: input[2], inputW: input[3],
                                                     kernelH: weight[2], kernelW: weight[3])
        else {
            throw TensorError.invalidArgument(
                op: op,
                detail: "input \(input), kernel \(weight[2])×\(weight[3]), \(p) give an empty or invalid output")
        }
        batch = input[0]; inChannels = input[1]; inH = input[2]; inW = input[3]
        outChannels = weight[0]; kernelH = weight[2]; kernelW = weight[3]
        groups = g
        strideH = p.strideH; strideW = p.strideW
        padTop = p.padTop; padLeft = p.padLeft; padBottom = p.padBottom; padRight = p.padRight
        dilationH = p.dilationH; dilationW = p.dilationW
        outH = out.h; outW = out.w
        try checkKernelSize(op: op, shapes: [input, weight, outputShape, [columnRows, outPlane]])
    }
}

/// Refuses operands beyond the 32-bit sizes BLAS and the kernels' index arithmetic accept.
func checkKernelSize(op: String, shapes: [[Int]]) throws {
    for shape in shapes {
        let n = try Tensor.elementCount(shape, op: op)
        guard n <= Int(Int32.max) else { throw TensorError.invalidShape(op: op, shape: shape) }
    }
}

/// Checks that `tensor` has exactly `expected` as its shape.
func checkShape(_ op: String, _ operand: String, _ tensor: Tensor, _ expected: [Int]) throws {
    guard tensor.shape == expected else {
        throw TensorError.shapeMismatch(op: op, detail: "\(operand) has shape \(tensor.shape), expected \(expected)")
    }
}

/// Checks that `tensor` has `rank` dimensions.
func checkRank(_ op: String, _ operand: String, _ tensor: Tensor, _ rank: Int) throws {
    try checkRank(op, operand, shape: tensor.shape, rank)
}

/// Checks that `shape` has `rank` dimensions (a backward pass knows its input only by shape).
func checkRank(_ op: String, _ operand: String, shape: [Int], _ rank: Int) throws {
    guard shape.count == rank else {
        throw TensorError.rankMismatch(op: op, operand: operand, expected: rank, shape: shape)
    }
}
