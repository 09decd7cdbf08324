/// Every number needed to build torchvision's Inception v3 (torchvision/models/inception.py).
///
/// Fixed by the architecture: BasicConv2d = Conv2d (no bias) → BatchNorm2d → ReLU; the stem
/// Conv2d_1a_3x3 (stride 2), 2a_3x3, 2b_3x3 (padding 1), 3×3 stride-2 max pool, 3b_1x1, 4a_3x3, 3×3
/// stride-2 max pool; the blocks' kernels, paddings and strides (InceptionA–E below); average pools
/// inside blocks 3×3 stride 1 padding 1 counting the padding; AuxLogits 5×5 stride-3 average pool,
/// 1×1 and 5×5 convolutions, global average, fc.
public struct InceptionV3Config: Codable, Sendable, Equatable {
    /// branch1x1; branch5x5_1 → _2 (5×5); branch3x3dbl_1 → _2 → _3 (3×3); avg pool → branch_pool.
    public struct A: Codable, Sendable, Equatable {
        public var branch1x1: Int
        /// [branch5x5_1, branch5x5_2] outputs.
        public var branch5x5: [Int]
        /// [branch3x3dbl_1, _2, _3] outputs.
        public var branch3x3dbl: [Int]
        public var poolFeatures: Int
        public init(branch1x1: Int = 64, branch5x5: [Int] = [48, 64], branch3x3dbl: [Int] = [64, 96, 96], poolFeatures: Int) {
            self.branch1x1 = branch1x1
            self.branch5x5 = branch5x5
            self.branch3x3dbl = branch3x3dbl
            self.poolFeatures = poolFeatures
        }
        public var outChannels: Int { branch1x1 + branch5x5[1] + branch3x3dbl[2] + poolFeatures }
    }

    /// branch3x3 (3×3 stride 2); branch3x3dbl_1 → _2 → _3 (stride 2); 3×3 stride-2 max pool.
    public struct B: Codable, Sendable, Equatable {
        public var branch3x3: Int
        public var branch3x3dbl: [Int]
        public init(branch3x3: Int = 384, branch3x3dbl: [Int] = [64, 96, 96]) {
            self.branch3x3 = branch3x3
            self.branch3x3dbl = branch3x3dbl
        }
        public func outChannels(input: Int) -> Int { branch3x3 + branch3x3dbl[2] + input }
    }

    /// branch1x1; branch7x7_1 → _2 (1×7) → _3 (7×1); branch7x7dbl_1 → _2 (7×1) → _3 (1×7) → _4 (7×1) →
    /// _5 (1×7); avg pool → branch_pool.
    public struct C: Codable, Sendable, Equatable {
        public var branch1x1: Int
        public var channels7x7: Int
        /// branch7x7_3's output.
        public var branch7x7: Int
        /// branch7x7dbl_5's output.
        public var branch7x7dbl: Int
        public var branchPool: Int
        public init(branch1x1: Int = 192, channels7x7: Int, branch7x7: Int = 192, branch7x7dbl: Int = 192, branchPool: Int = 192) {
            self.branch1x1 = branch1x1
            self.channels7x7 = channels7x7
            self.branch7x7 = branch7x7
            self.branch7x7dbl = branch7x7dbl
            self.branchPool = branchPool
        }
        public var outChannels: Int { branch1x1 + branch7x7 + branch7x7dbl + branchPool }
    }

    /// branch3x3_1 → _2 (3×3 stride 2); branch7x7x3_1 → _2 (1×7) → _3 (7×1) → _4 (3×3 stride 2);
    /// 3×3 stride-2 max pool.
    public struct D: Codable, Sendable, Equatable {
        public var branch3x3: [Int]
        public var branch7x7x3: [Int]
        public init(branch3x3: [Int] = [192, 320], branch7x7x3: [Int] = [192, 192, 192, 192]) {
            self.branch3x3 = branch3x3
            self.branch7x7x3 = branch7x7x3
        }
        public func outChannels(input: Int) -> Int { branch3x3[1] + branch7x7x3[3] + input }
    }

    /// branch1x1; branch3x3_1 → (_2a 1×3 ‖ _2b 3×1); branch3x3dbl_1 → _2 (3×3) → (_3a 1×3 ‖ _3b 3×1);
    /// avg pool → branch_pool.
    public struct E: Codable, Sendable, Equatable {
        public var branch1x1: Int
        /// [branch3x3_1, branch3x3_2a/_2b] outputs.
        public var branch3x3: [Int]
        /// [branch3x3dbl_1, _2, _3a/_3b] outputs.
        public var branch3x3dbl: [Int]
        public var branchPool: Int
        public init(branch1x1: Int = 320, branch3x3: [Int] = [384, 384], branch3x3dbl: [Int] = [448, 384, 384], branchPool: Int = 192) {
            self.branch1x1 = branch1x1
            self.branch3x3 = branch3x3
            self.branch3x3dbl = branch3x3dbl
            self.branchPool = branchPool
        }
        public var outChannels: Int { branch1x1 + 2 * branch3x3[1] + 2 * branch3x3dbl[2] + branchPool }
    }

    /// Conv2d_1a_3x3, 2a_3x3, 2b_3x3, 3b_1x1, 4a_3x3 outputs.
    public var stem: [Int]
    /// Mixed_5b, 5c, 5d (named by position; fewer make a smaller network).
    public var mixed5: [A]
    public var mixed6a: B
    /// Mixed_6b…6e.
    public var mixed6: [C]
    public var mixed7a: D
    /// Mixed_7b, 7c.
    public var mixed7: [E]
    /// Whether the tree has AuxLogits (torchvision's pretrained checkpoint has it; Graft never runs it in
    /// the forward).
    public var auxLogits: Bool
    /// AuxLogits' conv0 (1×1) and conv1 (5×5) outputs.
    public var auxConv0: Int
    public var auxConv1: Int
    /// The Dropout before fc.
    public var dropout: Float
    /// torchvision's `transform_input` (on for the pretrained weights).
    public var transformInput: Bool
    public var bnEps: Float
    public var numClasses: Int

    public init(stem: [Int] = [32, 32, 64, 80, 192], mixed5: [A], mixed6a: B = B(), mixed6: [C], mixed7a: D = D(),
                mixed7: [E] = [E(), E()], auxLogits: Bool = true, auxConv0: Int = 128, auxConv1: Int = 768,
                dropout: Float = 0.5, transformInput: Bool = true, bnEps: Float = 0.001, numClasses: Int = 1000) {
        precondition(stem.count == 5, "Inception v3's stem has five convolutions")
        self.stem = stem
        self.mixed5 = mixed5
        self.mixed6a = mixed6a
        self.mixed6 = mixed6
        self.mixed7a = mixed7a
        self.mixed7 = mixed7
        self.auxLogits = auxLogits
        self.auxConv0 = auxConv0
        self.auxConv1 = auxConv1
        self.dropout = dropout
        self.transformInput = transformInput
        self.bnEps = bnEps
        self.numClasses = numClasses
    }

    /// torchvision's `inception_v3`, as its pretrained weights build it (AuxLogits present,
    /// transform_input on). Expects 299×299 input.
    public static let named: [String: InceptionV3Config] = [
        "inception_v3": InceptionV3Config(
            mixed5: [A(poolFeatures: 32), A(poolFeatures: 64), A(poolFeatures: 64)],
            mixed6: [C(channels7x7: 128), C(channels7x7: 160), C(channels7x7: 160), C(channels7x7: 192)]),
    ]
}
