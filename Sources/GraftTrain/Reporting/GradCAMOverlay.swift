import GraftImage
import GraftModels

/// A Grad-CAM map laid over the photo the network saw: the map upsampled to the crop (bilinear, pixel
/// centres aligned as OpenCV's `resize` and PyTorch's `align_corners=False`), coloured with the jet
/// scale and blended half and half with the photo (pytorch-grad-cam's `show_cam_on_image`), under a
/// title with the class and its probability, beside the colour scale.
public enum GradCAMOverlay {
    public static func render(_ cam: GradCAM, on photo: RGBImage, className: String) throws -> RGBImage {
        let blended = try blend(cam, on: photo)
        let title = "\(className) (\(cam.classIndex))  \(percent(cam.probability))"
        let subtitle = "Grad-CAM at \(cam.layer.isEmpty ? "the output" : cam.layer)"
        let titleScale = Canvas.textWidth(title, scale: 2) <= max(photo.width + 40, 320) ? 2 : 1
        let barWidth = 60, top = 20 + 11 * titleScale + 16
        let width = max(photo.width + barWidth + 20, Canvas.textWidth(title, scale: titleScale) + 20)
        var canvas = Canvas(width: width, height: top + photo.height + 10)
        canvas.text(title, x: 10, y: 8, scale: titleScale)
        canvas.text(subtitle, x: 10, y: 14 + 11 * titleScale, (90, 90, 90))
        canvas.draw(blended, x: 10, y: top)
        drawScale(&canvas, x: 10 + photo.width + 12, y: top, height: photo.height)
        return try canvas.image()
    }

    /// The map over the photo alone, at the photo's size: no title, no scale (the training report
    /// captions it in HTML).
    public static func blend(_ cam: GradCAM, on photo: RGBImage) throws -> RGBImage {
        let heat = upsample(cam.map, height: cam.height, width: cam.width, toHeight: photo.height, toWidth: photo.width)
        var blended = [UInt8](repeating: 0, count: photo.pixels.count)
        for i in 0..<heat.count {
            let c = jet(heat[i])
            for (k, v) in [c.r, c.g, c.b].enumerated() {
                blended[i * 3 + k] = UInt8((Float(photo.pixels[i * 3 + k]) * 0.5 + Float(v) * 0.5).rounded())
            }
        }
        return try RGBImage(width: photo.width, height: photo.height, pixels: blended)
    }

    /// The colour bar: 1 at the top, 0 at the bottom, with three labels.
    private static func drawScale(_ canvas: inout Canvas, x: Int, y: Int, height: Int) {
        for row in 0..<height {
            canvas.fill(x: x, y: y + row, w: 14, h: 1, jet(1 - Float(row) / Float(max(height - 1, 1))))
        }
        for (label, fraction) in [("1.0", 0.0), ("0.5", 0.5), ("0", 1.0)] {
            let ly = y + Int(Double(height - 1) * fraction)
            canvas.fill(x: x + 14, y: ly, w: 4, h: 1, (0, 0, 0))
            canvas.text(label, x: x + 20, y: min(max(ly - 5, y), y + height - 11))
        }
    }

    private static func percent(_ p: Float) -> String {
        let tenths = Int((p * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// Bilinear resize with half-pixel centres, edges clamped.
    static func upsample(_ map: [Float], height h: Int, width w: Int, toHeight H: Int, toWidth W: Int) -> [Float] {
        func taps(_ out: Int, _ n: Int, _ m: Int) -> (Int, Int, Float) {
            let src = max((Float(out) + 0.5) * Float(n) / Float(m) - 0.5, 0)
            let i0 = min(Int(src), n - 1)
            return (i0, min(i0 + 1, n - 1), src - Float(i0))
        }
        var out = [Float](repeating: 0, count: H * W)
        for y in 0..<H {
            let (y0, y1, fy) = taps(y, h, H)
            for x in 0..<W {
                let (x0, x1, fx) = taps(x, w, W)
                let top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx
                let bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx
                out[y * W + x] = top * (1 - fy) + bottom * fy
            }
        }
        return out
    }

    /// Matplotlib's `jet`: piecewise-linear red, green and blue over [0, 1].
    static func jet(_ v: Float) -> Canvas.Color {
        let t = min(max(v, 0), 1)
        func ramp(_ points: [(Float, Float)]) -> UInt8 {
            for (a, b) in zip(points, points.dropFirst()) where t <= b.0 {
                let f = b.0 > a.0 ? (t - a.0) / (b.0 - a.0) : 0
                return UInt8(((a.1 + (b.1 - a.1) * f) * 255).rounded())
            }
            return UInt8((points.last!.1 * 255).rounded())
        }
        return (ramp([(0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)]),
                ramp([(0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)]),
                ramp([(0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0)]))
    }
}
