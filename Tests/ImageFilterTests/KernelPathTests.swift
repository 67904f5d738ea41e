import Foundation
import Testing
import imagefilter

/// The kernel filters' specialised paths against the plain float32 model of Pillow's arithmetic
/// (`ReferenceModelTests.kernel`), at every SIMD level: the equal-armed cross of binary32 weights
/// (filter_kernel_cross.c: DETAIL) and 5x5 rational kernels of concentric rings (filter_kernel_ring.c:
/// SMOOTH_MORE), on shapes that cross their column strips and chunks and on rows too short for them.
@Suite struct KernelPathTests {
    typealias Model = ReferenceModelTests

    static let levels = [IF_SIMD_AUTO, IF_SIMD_AVX2, IF_SIMD_BASELINE]

    /// (width, height, bands): several strips and chunks (rows of 2,100 to 4,500 samples), an uneven last one,
    /// RGBA, and rows too short for a vector step (the general path).
    static let shapes = [(61, 37, 3), (300, 5, 1), (40, 40, 2), (1500, 6, 3), (2100, 5, 1), (520, 7, 4),
                         (12, 9, 3), (9, 5, 4)]

    static func spec(_ size: Int, _ values: [Float], _ scale: Float, _ offset: Float) -> String {
        func text(_ v: Float) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
        return "Kernel(\(size)x\(size); \(values.map(text).joined(separator: " ")); scale=\(text(scale)); offset=\(text(offset)))"
    }

    static func check(_ kernels: [(Int, [Float], Float, Float)], seed: UInt64) {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for level in levels {
            if_filter_set_simd(Int32(level))
            for (n, (w, h, b)) in shapes.enumerated() {
                let image = Model.image(w, h, b, seed: seed + UInt64(n))
                for (size, values, scale, offset) in kernels {
                    let spec = spec(size, values, scale, offset)
                    if let got = Model.filtered(spec, image) {
                        let expected = Model.kernel(image, size: size, values: values, scale: scale, offset: offset)
                        #expect(Model.difference(got, expected) == nil, "\(spec) \(w)x\(h)x\(b) level \(level)")
                    }
                }
            }
        }
    }

    /// Zero corners, four equal edge weights, neither dyadic nor rational without ties: DETAIL, an even
    /// integer scale under 64 with an offset, non-integer weights.
    @Test func equalArmedCrossKernelsMatchTheFloat32Model() {
        Self.check([
            (3, [0, -1, 0, -1, 10, -1, 0, -1, 0], 6, 0),
            (3, [0, 2, 0, 2, -3, 2, 0, 2, 0], 10, 7),
            (3, [0, -1.5, 0, -1.5, 9, -1.5, 0, -1.5, 0], 2.5, -3.25),
        ], seed: 300)
    }

    static func ring(outer a: Float, inner b: Float, centre z: Float) -> [Float] {
        (0..<25).map { i in
            let r = i / 5, c = i % 5
            return i == 12 ? z : (r == 0 || r == 4 || c == 0 || c == 4) ? a : b
        }
    }

    /// Concentric rings: SMOOTH_MORE (ties), an odd scale (no ties) with an offset, negative outer weights
    /// with an even scale and a negative offset, the 5x5 box.
    @Test func ringKernelsMatchTheFloat32Model() {
        Self.check([
            (5, Self.ring(outer: 1, inner: 5, centre: 44), 100, 0),
            (5, Self.ring(outer: 2, inner: -1, centre: 30), 37, 4),
            (5, Self.ring(outer: -1, inner: 3, centre: 20), 90, -10),
            (5, Self.ring(outer: 1, inner: 1, centre: 1), 25, 0),
        ], seed: 400)
    }

    /// SMOOTH_MORE's integer sum S = box5 + 4 box3 + 39 centre takes every value from 0 to 25,500 (so N = S + 50
    /// every reachable value, every tie among them) at the centres of 5x5 blocks of one image, each block
    /// made for its S: its outer and inner rows a grey g, its middle row u v w v' u' with
    /// S = 44 g + 44 w + 5 (v + v') + (u + u'). Every SIMD level matches the float32 model at every centre.
    @Test func smoothMoreMatchesTheModelAtEveryReachableSum() throws {
        let side = 160, width = side * 5
        var samples = [UInt8](repeating: 0, count: width * width)
        var centres: [(x: Int, y: Int, sum: Int)] = []
        for s in 0...25_500 {
            let g = max(0, (s - 14_280 + 43) / 44), t = s - 44 * g
            let w = min(255, t / 44), rest = t - 44 * w
            let vv = min(510, rest / 5), uu = rest - 5 * vv
            let row = [min(255, uu), min(255, vv), w, vv - min(255, vv), uu - min(255, uu)]
            let bx = (s % side) * 5, by = (s / side) * 5
            for dy in 0..<5 {
                for dx in 0..<5 { samples[(by + dy) * width + bx + dx] = UInt8(dy == 2 ? row[dx] : g) }
            }
            centres.append((bx + 2, by + 2, s))
        }
        let image = Model.Image(width: width, height: width, bands: 1, samples: samples)
        let weights = Self.ring(outer: 1, inner: 5, centre: 44), k = weights.map { $0 / 100 }
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for level in Self.levels {
            if_filter_set_simd(Int32(level))
            let got = try #require(Model.filtered("SMOOTH_MORE", image))
            var wrong = 0
            for (x, y, sum) in centres {
                var exact = 0
                var a: Float = 0.5
                for r in 0..<5 {
                    let row = (y + 2 - r) * width + x - 2
                    var t = Float(samples[row]) * k[r * 5]
                    exact += Int(samples[row]) * Int(weights[r * 5])
                    for c in 1..<5 {
                        t = t + Float(samples[row + c]) * k[r * 5 + c]
                        exact += Int(samples[row + c]) * Int(weights[r * 5 + c])
                    }
                    a = a + t
                }
                #expect(exact == sum, "block design at \(x),\(y)")
                let expected = UInt8(Int(min(max(a, 0), 255)))
                if got[y * width + x] != expected {
                    wrong += 1
                    if wrong <= 5 { Issue.record("S = \(sum) at \(x),\(y): \(got[y * width + x]), the model \(expected), level \(level)") }
                }
            }
            #expect(wrong == 0, "level \(level)")
        }
    }
}
