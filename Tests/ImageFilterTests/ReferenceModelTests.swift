import Foundation
import Testing
import imagefilter

/// The fast paths against plain models of Pillow's arithmetic, over many more radii, kernels and shapes than the
/// Pillow-made fixtures hold: the box blurs (every radius class of the row pipeline, both ways of its multiply,
/// the whole-image passes beyond it) and integer kernels whose float32 ties are redone in float32. Both SIMD levels.
@Suite struct ReferenceModelTests {
    struct Image {
        let width: Int, height: Int, bands: Int
        var samples: [UInt8]
    }

    /// Deterministic noise with flat runs and extremes, so sums land on every kind of value.
    static func image(_ width: Int, _ height: Int, _ bands: Int, seed: UInt64) -> Image {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        var samples = [UInt8](repeating: 0, count: width * height * bands)
        for i in samples.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let r = Int(state >> 33)
            samples[i] = r % 7 == 0 ? (r % 2 == 0 ? 0 : 255) : r % 5 == 0 ? UInt8((i / bands) % 256) : UInt8(truncatingIfNeeded: r >> 3)
        }
        return Image(width: width, height: height, bands: bands, samples: samples)
    }

    static func mode(_ bands: Int) -> if_mode {
        [1: IF_MODE_L, 2: IF_MODE_LA, 3: IF_MODE_RGB, 4: IF_MODE_RGBA][bands]!
    }

    /// The plugin's output for `spec`, or nil with the reason recorded.
    static func filtered(_ spec: String, _ image: Image) -> [UInt8]? {
        var err = [CChar](repeating: 0, count: 512)
        guard let filter = if_filter_parse(spec, &err, err.count) else {
            Issue.record("\(spec): not parsed")
            return nil
        }
        defer { if_filter_free(filter) }
        var input = if_image()
        guard if_image_alloc(&input, UInt32(image.width), UInt32(image.height), mode(image.bands)) == 0 else { return nil }
        defer { if_image_free(&input) }
        image.samples.withUnsafeBufferPointer { input.pixels.update(from: $0.baseAddress!, count: $0.count) }
        var output = if_image()
        guard if_filter_apply(filter, &input, &output, &err, err.count) == 0 else {
            Issue.record("\(spec): refused")
            return nil
        }
        defer { if_image_free(&output) }
        return Array(UnsafeBufferPointer(start: output.pixels, count: image.samples.count))
    }

    /// Where two outputs first differ and how many samples do, or nil when they are equal.
    static func difference(_ got: [UInt8], _ expected: [UInt8]) -> String? {
        guard let i = got.indices.first(where: { got[$0] != expected[$0] }) else { return nil }
        let count = zip(got, expected).filter { $0 != $1 }.count
        return "sample \(i): \(got[i]), the model \(expected[i]) (\(count) samples differ)"
    }

    // MARK: box blur model

    /// One box pass of radius r along lines of `count` samples `stride` apart (Pillow's line blur, edges clamped).
    static func boxPass(_ s: inout [UInt8], _ radius: Float, lines: Int, count: Int, stride: Int, lineStride: Int,
                        lineStep: Int) {
        let ir = Int(radius)
        let ww = UInt64(UInt32(Int64(16777216.0 as Float / (radius * 2.0 + 1.0))))
        let fw = UInt64((16777216 - UInt32(2 * ir + 1) * UInt32(ww)) / 2)
        var line = [UInt64](repeating: 0, count: count)
        for l in 0..<lines {
            for b in 0..<lineStep {
                let base = l * lineStride + b
                for i in 0..<count { line[i] = UInt64(s[base + i * stride]) }
                func q(_ i: Int) -> UInt64 { line[min(max(i, 0), count - 1)] }
                for i in 0..<count {
                    var acc: UInt64 = 0
                    for k in -ir...ir { acc += q(i + k) }
                    let value = (acc * ww + (q(i - ir - 1) + q(i + ir + 1)) * fw + (1 << 23)) >> 24
                    s[base + i * stride] = UInt8(value)
                }
            }
        }
    }

    /// Pillow's box blur: `passes` horizontal passes, then `passes` vertical ones.
    static func boxBlur(_ image: Image, _ radius: Float, passes: Int) -> [UInt8] {
        var s = image.samples
        let w = image.width, h = image.height, b = image.bands
        for _ in 0..<passes { boxPass(&s, radius, lines: h, count: w, stride: b, lineStride: w * b, lineStep: b) }
        for _ in 0..<passes { boxPass(&s, radius, lines: 1, count: h, stride: w * b, lineStride: 0, lineStep: w * b) }
        return s
    }

    /// Pillow's box radius for a Gaussian sigma (as the plugin computes it, float32 and float64 where it does).
    static func gaussianBoxRadius(_ sigma: Float) -> Float {
        let s2: Float = (sigma * sigma) / 3.0
        let bigL = Float((12.0 * Double(s2) + 1.0).squareRoot())
        let l = Float(((Double(bigL) - 1.0) / 2.0).rounded(.down))
        let l1 = l + 1.0
        var a: Float = (2.0 * l + 1.0) * (l * l1 - 3.0 * s2)
        let d: Float = 6.0 * (s2 - l1 * l1)
        a = a / d
        return l + a
    }

    static let shapes = [(61, 37, 3), (300, 5, 1), (7, 90, 4), (40, 40, 2), (33, 2, 3)]

    @Test func boxAndGaussianBlursMatchTheModel() {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        let boxRadii: [Float] = [0.25, 0.5, 0.8, 1, 1.375, 1.7, 2, 2.5, 3.3, 4, 5.5, 6.9, 7.5, 13]
        let sigmas: [Float] = [0.4, 1, 1.6, 2, 2.5, 3, 4.5, 6, 7.3, 9]
        for level in [IF_SIMD_AUTO, IF_SIMD_BASELINE] {
            if_filter_set_simd(Int32(level))
            for (n, (w, h, b)) in Self.shapes.enumerated() {
                let image = Self.image(w, h, b, seed: UInt64(n + 1))
                for r in boxRadii {
                    let spec = "BoxBlur(\(r))"
                    if let got = Self.filtered(spec, image) {
                        let problem = Self.difference(got, Self.boxBlur(image, r, passes: 1))
                        #expect(problem == nil, "\(spec) \(w)x\(h)x\(b) level \(level)")
                    }
                }
                for sigma in sigmas {
                    let spec = "GaussianBlur(\(sigma))"
                    if let got = Self.filtered(spec, image) {
                        let problem = Self.difference(got, Self.boxBlur(image, Self.gaussianBoxRadius(sigma), passes: 3))
                        #expect(problem == nil, "\(spec) \(w)x\(h)x\(b) level \(level)")
                    }
                }
            }
        }
    }

    // MARK: kernel model

    /// Pillow's float32 kernel sum in its order, clamped and truncated as it stores 8-bit samples; borders copied.
    static func kernel(_ image: Image, size n: Int, values: [Float], scale: Float, offset: Float) -> [UInt8] {
        let k = values.map { $0 / scale }, off = offset + 0.5, h = n / 2
        let w = image.width, b = image.bands
        var out = image.samples
        guard image.width >= n, image.height >= n else { return out }
        for y in h..<(image.height - h) {
            for x in h..<(w - h) {
                for c in 0..<b {
                    var a = off
                    for r in 0..<n {
                        let row = y + h - r
                        var t: Float = Float(image.samples[(row * w + x - h) * b + c]) * k[r * n]
                        for col in 1..<n { t = t + Float(image.samples[(row * w + x - h + col) * b + c]) * k[r * n + col] }
                        a = a + t
                    }
                    a = a > 0 ? a : 0
                    a = a < 255 ? a : 255
                    out[(y * w + x) * b + c] = UInt8(Int(a))
                }
            }
        }
        return out
    }

    @Test func integerKernelsWithTiesMatchTheFloat32Model() {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        // Non-dyadic integer kernels: odd scales (no ties), even scales of 64 and more (ties redone in float32),
        // negative weights and offsets, a negative scale.
        let kernels: [(Int, [Float], Float, Float)] = [
            (3, [1, 1, 1, 1, 5, 1, 1, 1, 1], 13, 0),
            (3, [10, 10, 10, 10, 20, 10, 10, 10, 10], 100, 0),
            (3, [3, -2, 5, 1, 30, 1, 5, -2, 3], 66, -3),
            (3, [1, 2, 3, 4, 5, 6, 7, 8, 9], -45, 200),
            (5, [1, 1, 1, 1, 1, 1, 5, 5, 5, 1, 1, 5, 44, 5, 1, 1, 5, 5, 5, 1, 1, 1, 1, 1, 1], 100, 0),
            (5, [2, 0, 1, 0, 2, 0, 3, 3, 3, 0, 1, 3, 12, 3, 1, 0, 3, 3, 3, 0, 2, 0, 1, 0, 2], 70, 5),
            (5, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 25, 0),
        ]
        for level in [IF_SIMD_AUTO, IF_SIMD_BASELINE] {
            if_filter_set_simd(Int32(level))
            for (n, (w, h, b)) in Self.shapes.enumerated() where w >= 5 && h >= 5 {
                let image = Self.image(w, h, b, seed: UInt64(100 + n))
                for (size, values, scale, offset) in kernels {
                    let list = values.map { String(Int($0)) }.joined(separator: " ")
                    let spec = "Kernel(\(size)x\(size); \(list); scale=\(Int(scale)); offset=\(Int(offset)))"
                    if let got = Self.filtered(spec, image) {
                        let expected = Self.kernel(image, size: size, values: values, scale: scale, offset: offset)
                        #expect(Self.difference(got, expected) == nil, "\(spec) \(w)x\(h)x\(b) level \(level)")
                    }
                }
            }
        }
    }
}
