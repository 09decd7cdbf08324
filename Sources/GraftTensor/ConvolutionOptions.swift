/// How a convolution is computed: which algorithms it may use and how they are tuned.
///
/// A value passed with each call (`conv2d(…, options:)`, `conv2dBackward(…, options:)`) or kept
/// by a model, rather than process-wide switches, so callers with different settings — tests
/// running every case on both back ends, A/B benchmarks — can run at the same time without
/// seeing each other's choices. Every setting gives the same numbers up to rounding; only speed
/// differs. `machineDefault` is the fastest measured choice for this machine.
public struct ConvolutionOptions: Sendable, Hashable {
    /// Use Winograd for eligible 3×3 stride-1 convolutions (off: im2col + GEMM).
    public var winograd: Bool
    /// Multiply ungrouped im2col/1×1 convolutions and Winograd's products on Graft's
    /// packed-filter GEMMs (`PanelGemm`; `ColumnPanelGemm` for small output planes on AVX-512)
    /// rather than on OpenBLAS.
    public var packedWeights: Bool
    /// Compute a stride-1 convolution's input gradient as a forward convolution with flipped
    /// filters rather than GEMM + col2im.
    public var transposedInputGradient: Bool
    /// How the convolutions' OpenBLAS products use the cores (`.blas` is for comparisons only:
    /// OpenBLAS's thread count is process-wide, so it is not meant for concurrent callers).
    public var gemmThreads: Gemm.ThreadPolicy
    /// Winograd's cache blocking.
    public var winogradBlocks: WinogradBlocks
    /// Winograd's output tile: F(2×2, 3×3), whose transforms only add and halve (rounding at the
    /// direct method's level), or F(4×4, 3×3): 36 multiplies per 16 outputs instead of 64, at about
    /// six times the direct method's rounding error. F(4×4) needs CPanelKernels' AVX2 or AVX-512
    /// kernels; elsewhere F(2×2) is used.
    public var winogradTile: WinogradTile
    /// The tile `training` sets: a training step's rounding is far below its gradient noise, so it
    /// takes the cheaper tile, while inference keeps F(2×2) so that logits match the frameworks'.
    public var trainingWinogradTile: WinogradTile
    /// On AVX-512, convolutions with output planes of fewer pixels than this run on `ColumnPanelGemm`:
    /// 4096 takes in 56×56 planes, where the column panels (split in column strips too) beat `PanelGemm`
    /// on ResNet-50's 1×1 layers by 10–25 % and on ConvNeXt-Tiny's by up to 6 % net; the 112×112 ones
    /// and the stem were not measured to gain (`GraftKernelBench resnet50 --ab colpanels`).
    public var columnPanelPlanes: Int = 4096

    public enum WinogradTile: Sendable, Hashable {
        case twoByTwo, fourByFour
    }

    /// These options for the convolutions of a training step (forward and backward).
    public var training: ConvolutionOptions {
        var o = self
        o.winogradTile = trainingWinogradTile
        return o
    }

    /// How Winograd cuts the tiles into blocks (tuning experiments; the defaults were measured
    /// on ResNet-50 and VGG-16).
    public struct WinogradBlocks: Sendable, Hashable {
        /// Floats of transformed input + products one block may hold (≈ 2 MB).
        public var blockFloats: Int
        /// Smallest block (tiles) worth giving each thread a block of its own.
        public var minimumCacheBlock: Int
        /// With few tiles, a block may hold this many times `blockFloats`.
        public var bigBlockFactor: Int

        /// On AVX-512, products of fewer tiles than this run on `ColumnPanelGemm` (else `PanelGemm`).
        public var columnPanelTiles: Int

        public init(blockFloats: Int = 512 * 1024, minimumCacheBlock: Int = 160, bigBlockFactor: Int = 8,
                    columnPanelTiles: Int = ConvolutionOptions.columnPanelColumns) {
            self.blockFloats = blockFloats
            self.minimumCacheBlock = minimumCacheBlock
            self.bigBlockFactor = bigBlockFactor
            self.columnPanelTiles = columnPanelTiles
        }
    }

    /// On AVX-512, Winograd products of fewer tiles than this run on `ColumnPanelGemm` rather than
    /// `PanelGemm` (the default of `WinogradBlocks.columnPanelTiles`; convolutions' planes have `columnPanelPlanes`).
    public static let columnPanelColumns = 1024

    /// - Parameter packedWeights: nil takes the machine's default (see `machineDefault`).
    public init(winograd: Bool = true, packedWeights: Bool? = nil, transposedInputGradient: Bool = true,
                gemmThreads: Gemm.ThreadPolicy = .split, winogradBlocks: WinogradBlocks = WinogradBlocks(),
                winogradTile: WinogradTile = .twoByTwo, trainingWinogradTile: WinogradTile = .fourByFour) {
        self.winograd = winograd
        self.packedWeights = packedWeights ?? Self.packedWeightsByDefault
        self.transposedInputGradient = transposedInputGradient
        self.gemmThreads = gemmThreads
        self.winogradBlocks = winogradBlocks
        self.winogradTile = winogradTile
        self.trainingWinogradTile = trainingWinogradTile
    }

    /// Every algorithm on, packed weights unless OpenBLAS runs AVX-512 kernels while `PanelGemm`
    /// cannot (OpenBLAS's are twice as fast per core as any AVX2 code); with its AVX-512 block
    /// `PanelGemm` is faster again on wide products (`PanelGemm.prefersBLAS` sends the narrow ones
    /// to OpenBLAS).
    public static var machineDefault: ConvolutionOptions { ConvolutionOptions() }

    /// Decided once: the kernel family is chosen when OpenBLAS is first used and never changes,
    /// and asking OpenBLAS for it on every convolution would cost a symbol lookup each time.
    private static let packedWeightsByDefault = !BLASRuntime.usesAVX512Kernels || PanelGemm.avx512
}
