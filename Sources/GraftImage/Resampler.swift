import Dispatch
import GraftCore

/// `PIL.Image.resize((width, height), filter)` for RGB images, bit for bit.
///
/// Convolution filters run Pillow's two fixed-point passes: horizontal first (only over the rows
/// the vertical pass will read), then vertical, each skipped when its side keeps its size; when
/// the width grows and the height shrinks, vertical first (as Pillow 13 orders them).
/// `nearest` follows Pillow's affine scaling, whose source coordinates are accumulated in double
/// precision column by column. Rows are split over two threads when the image is large.
public enum Resampler {
    /// A resized copy of `image`. Throws only for a size below 1 or beyond `ImageLimits`.
    public static func resize(
        _ image: RGBImage, width: Int, height: Int, filter: ResampleFilter
    ) throws -> RGBImage {
        guard width >= 1, height >= 1, let pixels = Checked.byteCount([height, width], itemSize: 3),
              pixels <= ImageLimits.maxOutputBytes
        else { throw ImageError.invalidArgument("cannot resize to \(width)x\(height)") }
        if width == image.width && height == image.height { return image }
        if filter == .nearest { return nearest(image, width: width, height: height) }

        let vertical = ResampleCoefficients(inSize: image.height, outSize: height, filter: filter)
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if needHorizontal && needVertical && width > image.width && height < image.height {
            // Pillow 13 runs the vertical pass first when it shrinks the rows and the horizontal
            // pass widens them (the intermediate image is then the smaller one). The 8-bit
            // rounding between the passes makes the order visible, so it is followed here too.
            let shrunk = verticalPass(image.pixels, width: image.width, rowOffset: 0,
                                      coefficients: vertical, outHeight: height)
            let horizontal = ResampleCoefficients(inSize: image.width, outSize: width, filter: filter)
            let pixels = horizontalPass(shrunk, width: image.width, rows: 0..<height,
                                        coefficients: horizontal, outWidth: width)
            return RGBImage(unchecked: width, height: height, pixels: pixels)
        }
        var source = image.pixels
        var sourceWidth = image.width
        // Rows of `source` that the vertical pass reads start here.
        var rowOffset = 0
        if needHorizontal {
            let span = needVertical ? vertical.inputSpan : (0, image.height)
            let horizontal = ResampleCoefficients(inSize: image.width, outSize: width, filter: filter)
            source = horizontalPass(image.pixels, width: image.width, rows: span.0..<span.1,
                                    coefficients: horizontal, outWidth: width)
            sourceWidth = width
            rowOffset = span.0
        }
        if needVertical {
            source = verticalPass(source, width: sourceWidth, rowOffset: rowOffset,
                                  coefficients: vertical, outHeight: height)
        }
        return RGBImage(unchecked: width, height: height, pixels: source)
    }

    /// Splits `count` rows into contiguous chunks, one per worker, and runs `body` on each.
    static func forEachRowChunk(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        // Below ~1M multiply-adds a second thread costs more than it saves.
        let workers = work > 1_000_000 && count > 1 ? 2 : 1
        if workers == 1 {
            body(0..<count)
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk
            let end = min(start + chunk, count)
            if start < end { body(start..<end) }
        }
    }

    @inline(__always)
    static func clip8(_ accumulator: Int32) -> UInt8 {
        let v = accumulator >> ResampleCoefficients.precisionBits
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }

    /// Resamples each row in `rows` of `pixels` (rows of `width` RGB pixels) to `outWidth` pixels.
    static func horizontalPass(
        _ pixels: [UInt8], width: Int, rows: Range<Int>, coefficients c: ResampleCoefficients, outWidth: Int
    ) -> [UInt8] {
        let outRowBytes = outWidth * 3
        let inRowBytes = width * 3
        let total = rows.count * outRowBytes
        let half: Int32 = 1 << (ResampleCoefficients.precisionBits - 1)
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            pixels.withUnsafeBufferPointer { input in
            c.weights.withUnsafeBufferPointer { weights in
            c.starts.withUnsafeBufferPointer { starts in
            c.counts.withUnsafeBufferPointer { counts in
                guard let src = input.baseAddress, let dst = out.baseAddress, let k = weights.baseAddress,
                      let xmins = starts.baseAddress, let taps = counts.baseAddress
                else { return }
                let work = rows.count * outWidth * c.kernelSize
                forEachRowChunk(rows.count, work: work) { chunk in
                    for r in chunk {
                        let line = src + (rows.lowerBound + r) * inRowBytes
                        let target = dst + r * outRowBytes
                        for xx in 0..<outWidth {
                            let w = k + xx * c.kernelSize
                            var p = line + xmins[xx] * 3
                            var s0 = half, s1 = half, s2 = half
                            for t in 0..<taps[xx] {
                                let wt = w[t]
                                s0 = s0 &+ Int32(p[0]) &* wt
                                s1 = s1 &+ Int32(p[1]) &* wt
                                s2 = s2 &+ Int32(p[2]) &* wt
                                p += 3
                            }
                            target[3 * xx] = clip8(s0)
                            target[3 * xx + 1] = clip8(s1)
                            target[3 * xx + 2] = clip8(s2)
                        }
                    }
                }
            }
            }
            }
            }
            initialized = total
        }
    }

    /// Resamples the columns of `pixels` (rows of `width` RGB pixels, the first of which is
    /// input row `rowOffset`) to `outHeight` rows.
    static func verticalPass(
        _ pixels: [UInt8], width: Int, rowOffset: Int, coefficients c: ResampleCoefficients, outHeight: Int
    ) -> [UInt8] {
        let rowBytes = width * 3
        let total = outHeight * rowBytes
        let half: Int32 = 1 << (ResampleCoefficients.precisionBits - 1)
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            pixels.withUnsafeBufferPointer { input in
            c.weights.withUnsafeBufferPointer { weights in
            c.starts.withUnsafeBufferPointer { starts in
            c.counts.withUnsafeBufferPointer { counts in
                guard let src = input.baseAddress, let dst = out.baseAddress, let k = weights.baseAddress,
                      let ymins = starts.baseAddress, let taps = counts.baseAddress
                else { return }
                let work = outHeight * rowBytes * c.kernelSize / 3
                forEachRowChunk(outHeight, work: work) { chunk in
                    // One accumulator row per worker; integer sums do not depend on the order.
                    let sums = UnsafeMutablePointer<Int32>.allocate(capacity: rowBytes)
                    defer { sums.deallocate() }
                    for yy in chunk {
                        sums.update(repeating: half, count: rowBytes)
                        let w = k + yy * c.kernelSize
                        for t in 0..<taps[yy] {
                            let wt = w[t]
                            let line = src + (ymins[yy] + t - rowOffset) * rowBytes
                            for i in 0..<rowBytes { sums[i] = sums[i] &+ Int32(line[i]) &* wt }
                        }
                        let target = dst + yy * rowBytes
                        for i in 0..<rowBytes { target[i] = clip8(sums[i]) }
                    }
                }
            }
            }
            }
            }
            initialized = total
        }
    }

    /// Pillow's NEAREST resize (`ImagingScaleAffine`): the source coordinate of output column x
    /// is `a * 0.5 + a + a + …` accumulated in double precision, then truncated.
    static func nearest(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let a0 = Double(Float(image.width)) / Double(width)
        let a4 = Double(Float(image.height)) / Double(height)
        var columns = [Int](repeating: -1, count: width)
        var xo = 0.0 + a0 * 0.5
        for x in 0..<width {
            let xin = xo < 0 ? -1 : Int(xo)
            if xin >= 0 && xin < image.width { columns[x] = xin }
            xo += a0
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var yo = 0.0 + a4 * 0.5
        for y in 0..<height {
            let yin = yo < 0 ? -1 : Int(yo)
            yo += a4
            guard yin >= 0 && yin < image.height else { continue }  // stays black, as Pillow fills 0
            let rowIn = yin * image.width * 3
            let rowOut = y * width * 3
            for x in 0..<width where columns[x] >= 0 {
                let s = rowIn + columns[x] * 3
                pixels[rowOut + 3 * x] = image.pixels[s]
                pixels[rowOut + 3 * x + 1] = image.pixels[s + 1]
                pixels[rowOut + 3 * x + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(unchecked: width, height: height, pixels: pixels)
    }
}
