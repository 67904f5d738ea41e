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
    /// integer scale under 64 with an offset, non-integer weights, and weights whose sums leave the int32 range
    /// both ways (Pillow clamps them to 255 and 0).
    @Test func equalArmedCrossKernelsMatchTheFloat32Model() {
        Self.check([
            (3, [0, -1, 0, -1, 10, -1, 0, -1, 0], 6, 0),
            (3, [0, 2, 0, 2, -3, 2, 0, 2, 0], 10, 7),
            (3, [0, -1.5, 0, -1.5, 9, -1.5, 0, -1.5, 0], 2.5, -3.25),
            (3, [0, 1e18, 0, 1e18, -3e18, 1e18, 0, 1e18, 0], 1, 0),
            (3, [0, -1e18, 0, -1e18, 5e18, -1e18, 0, -1e18, 0], 3, 1),
        ], seed: 300)
    }

    static func ring(_ n: Int, outer a: Float, inner b: Float = 0, centre z: Float) -> [Float] {
        (0..<n * n).map { i in
            let r = i / n, c = i % n
            return i == n * n / 2 ? z : (r == 0 || r == n - 1 || c == 0 || c == n - 1) ? a : b
        }
    }

    /// Concentric rings, rational: SMOOTH_MORE (ties), an odd scale (no ties) with an offset, negative outer
    /// weights with an even scale and a negative offset, the 5x5 box; SMOOTH, a 3x3 one with a negative centre
    /// and an offset, a 3x3 one of even scale (ties). Dyadic: BLUR, negative inner weights with an offset,
    /// a negative centre with a fractional offset.
    @Test func ringKernelsMatchTheFloat32Model() {
        Self.check([
            (5, Self.ring(5, outer: 1, inner: 5, centre: 44), 100, 0),
            (5, Self.ring(5, outer: 2, inner: -1, centre: 30), 37, 4),
            (5, Self.ring(5, outer: -1, inner: 3, centre: 20), 90, -10),
            (5, Self.ring(5, outer: 1, inner: 1, centre: 1), 25, 0),
            (3, Self.ring(3, outer: 1, centre: 5), 13, 0),
            (3, Self.ring(3, outer: 2, centre: -7), 9, 100),
            (3, Self.ring(3, outer: 3, centre: 10), 70, 0),
            (5, Self.ring(5, outer: 1, inner: 0, centre: 0), 16, 0),
            (5, Self.ring(5, outer: 2, inner: -1, centre: 6), 32, 3),
            (5, Self.ring(5, outer: 1, inner: 3, centre: -5), 8, -2.25),
        ], seed: 400)
    }

    /// Runs `spec` at every level on an image of n x n blocks side by side, block i built by `block(sums[i])`,
    /// and compares the output at each block's centre with the float32 model there (checking first that the
    /// block's integer sum of weights times samples is the sum it was made for).
    static func checkCentres(_ spec: String, _ n: Int, _ values: [Float], scale: Float, offset: Float, sums: [Int],
                             block: (Int) -> [UInt8]) throws {
        let side = Int(Double(sums.count).squareRoot().rounded(.up)), width = side * n
        var samples = [UInt8](repeating: 0, count: width * width)
        var centres: [(x: Int, y: Int, sum: Int)] = []
        for (i, s) in sums.enumerated() {
            let cells = block(s), bx = (i % side) * n, by = (i / side) * n
            for dy in 0..<n {
                for dx in 0..<n { samples[(by + dy) * width + bx + dx] = cells[dy * n + dx] }
            }
            centres.append((bx + n / 2, by + n / 2, s))
        }
        let image = Model.Image(width: width, height: width, bands: 1, samples: samples)
        let k = values.map { $0 / scale }, h = n / 2
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for level in levels {
            if_filter_set_simd(Int32(level))
            let got = try #require(Model.filtered(spec, image))
            var wrong = 0
            for (x, y, sum) in centres {
                var exact = 0
                var a: Float = offset + 0.5
                for r in 0..<n {
                    let row = (y + h - r) * width + x - h
                    var t = Float(samples[row]) * k[r * n]
                    exact += Int(samples[row]) * Int(values[r * n])
                    for c in 1..<n {
                        t = t + Float(samples[row + c]) * k[r * n + c]
                        exact += Int(samples[row + c]) * Int(values[r * n + c])
                    }
                    a = a + t
                }
                #expect(exact == sum, "block design at \(x),\(y)")
                let expected = UInt8(Int(min(max(a, 0), 255)))
                if got[y * width + x] != expected {
                    wrong += 1
                    if wrong <= 5 { Issue.record("\(spec): S = \(sum) at \(x),\(y): \(got[y * width + x]), the model \(expected), level \(level)") }
                }
            }
            #expect(wrong == 0, "\(spec) level \(level)")
        }
    }

    /// Splits `total` (at most 255 * count) into `count` samples.
    static func spread(_ total: Int, _ count: Int) -> [UInt8] {
        (0..<count).map { i in UInt8(min(255, max(0, total - 255 * i))) }
    }

    /// SMOOTH_MORE's integer sum S = box5 + 4 box3 + 39 centre takes every value from 0 to 25,500 (so N = S + 50
    /// every reachable value, every tie among them): each block's outer and inner rows are a grey g, its
    /// middle row u v w v' u', so that S = 44 g + 44 w + 5 (v + v') + (u + u').
    @Test func smoothMoreMatchesTheModelAtEveryReachableSum() throws {
        try Self.checkCentres("SMOOTH_MORE", 5, Self.ring(5, outer: 1, inner: 5, centre: 44), scale: 100, offset: 0,
                              sums: Array(0...25_500)) { s in
            let g = max(0, (s - 14_280 + 43) / 44), t = s - 44 * g
            let w = min(255, t / 44), rest = t - 44 * w
            let vv = min(510, rest / 5), uu = rest - 5 * vv
            let v = Self.spread(vv, 2), u = Self.spread(uu, 2)
            let middle = [u[0], v[0], UInt8(w), v[1], u[1]]
            return (0..<25).map { i in i / 5 == 2 ? middle[i % 5] : UInt8(g) }
        }
    }

    /// SMOOTH's integer sum S = box3 + 4 centre takes every value from 0 to 3,315 (N = 2 S + 13 over 26): the
    /// centre c = min(255, S / 5), the eight around it share S - 5 c.
    @Test func smoothMatchesTheModelAtEveryReachableSum() throws {
        try Self.checkCentres("SMOOTH", 3, Self.ring(3, outer: 1, centre: 5), scale: 13, offset: 0,
                              sums: Array(0...3_315)) { s in
            let c = min(255, s / 5)
            var cells = Self.spread(s - 5 * c, 8)
            cells.insert(UInt8(c), at: 4)
            return cells
        }
    }
}
