import GraftImage

/// A small RGB raster for Graft's report images: rectangles, lines and 6×11 text.
public struct Canvas {
    public typealias Color = (r: UInt8, g: UInt8, b: UInt8)
    public let width: Int
    public let height: Int
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: Color = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    public mutating func set(_ x: Int, _ y: Int, _ c: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: Color) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { set(xx, yy, c) } }
    }

    /// A line `thickness` pixels wide (Bresenham with a square brush).
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: Color, thickness: Int = 1) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        let r = thickness / 2
        while true {
            fill(x: x - r, y: y - r, w: thickness, h: thickness, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel drawn `scale` × `scale`; returns the
    /// width drawn. Non-ASCII shows as '?'.
    @discardableResult
    public mutating func text(_ s: String, x: Int, y: Int, _ c: Color = (0, 0, 0), scale: Int = 1) -> Int {
        var cx = x
        for scalar in s.unicodeScalars {
            let code = (32...126).contains(scalar.value) ? Int(scalar.value) : 63
            let base = (code - 32) * 11
            for row in 0..<11 {
                let bits = BitmapFont.glyphs[base + row]
                for col in 0..<6 where bits & (1 << (5 - col)) != 0 {
                    fill(x: cx + col * scale, y: y + row * scale, w: scale, h: scale, c)
                }
            }
            cx += 6 * scale
        }
        return cx - x
    }

    public static func textWidth(_ s: String, scale: Int = 1) -> Int { s.unicodeScalars.count * 6 * scale }

    /// Copies `image` with its top-left corner at (x, y).
    public mutating func draw(_ image: RGBImage, x: Int, y: Int) {
        for yy in 0..<image.height { for xx in 0..<image.width {
            let i = (yy * image.width + xx) * 3
            set(x + xx, y + yy, (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]))
        } }
    }

    public func image() throws -> RGBImage { try RGBImage(width: width, height: height, pixels: pixels) }
}

/// Graft's built-in bitmap font (see BitmapFont.generated.swift).
public enum BitmapFont {}
