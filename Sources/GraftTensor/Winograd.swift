/// Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (not yet enabled).
enum Winograd {
    static func isApplicable(_ g: ConvGeometry) -> Bool { false }

    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, activation: Activation) {}
}
