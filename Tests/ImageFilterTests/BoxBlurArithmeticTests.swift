import Testing
import imagefilter

/// The box blur's 16-bit arithmetic against Pillow's formula, at every SIMD level and in both of its engines (the
/// strips of words of filter_blur_fused.c, which GaussianBlur and UnsharpMask take, and the rows of bytes of
/// filter_blur_rows8.c, BoxBlur's): every (inner sum, outer sum) pair a pass can meet, for a radius of each way
/// of computing `(acc * ww + sf * fw + 2^23) >> 24`; then whole blurs and UnsharpMask against the models on
/// images wide enough to be cut into several strips.
@Suite struct BoxBlurArithmeticTests {
    static let levels = [IF_SIMD_AUTO, IF_SIMD_AVX2, IF_SIMD_BASELINE]
    /// BoxBlur's own rows of bytes (0), or the strips GaussianBlur takes (1).
    static let engines: [Int32] = [0, 1]

    /// Pillow's box constants for a radius, as the plugin computes them.
    static func weights(_ radius: Float) -> (ir: Int, ww: UInt64, fw: UInt64) {
        let ir = Int(radius)
        let ww = UInt64(UInt32(Int64(16777216.0 as Float / (radius * 2.0 + 1.0))))
        let fw = UInt64((16777216 - UInt32(2 * ir + 1) * UInt32(ww)) / 2)
        return (ir, ww, fw)
    }

    /// A one-row image holding, every 2 ir + 3 samples, one window whose inner taps sum to `acc` and outer two
    /// to `sf`, for every acc in 0 ... 255 (2 ir + 1) and sf in 0 ... 510 (0 only when fw is 0); the window's
    /// centre is where its pair is blurred. With one row the vertical pass leaves every sample as it is.
    static func everyPair(_ radius: Float) -> (samples: [UInt8], expected: [(index: Int, value: UInt8)]) {
        let (ir, ww, fw) = weights(radius)
        let taps = 2 * ir + 1
        var samples: [UInt8] = [], expected: [(index: Int, value: UInt8)] = []
        for sf in 0...(fw == 0 ? 0 : 510) {
            for acc in 0...(255 * taps) {
                var inner = [UInt8](repeating: 0, count: taps), rest = acc
                for k in 0..<taps {
                    inner[k] = UInt8(min(rest, 255))
                    rest -= Int(inner[k])
                }
                let left = UInt8(min(sf, 255)), right = UInt8(sf - Int(left))
                expected.append((samples.count + ir + 1,
                                 UInt8((UInt64(acc) * ww + UInt64(sf) * fw + (1 << 23)) >> 24)))
                samples += [left] + inner + [right]
            }
        }
        return (samples, expected)
    }

    /// The strips' FAST (GaussianBlur(2)'s 1.375, with the bias carried between passes, and 1.25 without), EVEN
    /// (1.21484375), GENERAL (1.203125) and FW0 (1, 2); the rows' ways for the same radii.
    @Test(arguments: [Float(1.375), 1.25, 1.21484375, 1.203125, 1, 2])
    func everyPairMatchesPillowsFormula(_ radius: Float) {
        defer {
            if_filter_set_simd(Int32(IF_SIMD_AUTO))
            if_filter_set_box_strips(0)
        }
        let (samples, expected) = Self.everyPair(radius)
        let image = ReferenceModelTests.Image(width: samples.count, height: 1, bands: 1, samples: samples)
        for engine in Self.engines {
            if_filter_set_box_strips(engine)
            for level in Self.levels {
                if_filter_set_simd(Int32(level))
                guard let got = ReferenceModelTests.filtered("BoxBlur(\(radius))", image) else { continue }
                let wrong = expected.filter { got[$0.index] != $0.value }
                #expect(wrong.isEmpty, "BoxBlur(\(radius)) engine \(engine) level \(level): \(wrong.count) of \(expected.count) pairs, first \(wrong.first.map { "sample \($0.index): \(got[$0.index]), Pillow \($0.value)" } ?? "")")
            }
        }
    }

    /// Images wider than a strip (several strips, margins and pads) and narrower than a vector.
    static let shapes = [(1000, 9, 3), (1500, 7, 4), (2000, 5, 1), (700, 23, 2), (9, 40, 3), (3, 3, 4)]

    @Test func blursAcrossStripsMatchTheModel() {
        defer {
            if_filter_set_simd(Int32(IF_SIMD_AUTO))
            if_filter_set_box_strips(0)
        }
        let boxRadii: [Float] = [0.5, 1, 1.203125, 1.21484375, 1.375, 2, 2.5, 3.3, 4.4, 6.9]
        let sigmas: [Float] = [1, 2, 3, 5]
        for (n, (w, h, b)) in Self.shapes.enumerated() {
            let image = ReferenceModelTests.image(w, h, b, seed: UInt64(40 + n))
            let boxes = boxRadii.map { ReferenceModelTests.boxBlur(image, $0, passes: 1) }
            let gaussians = sigmas.map {
                ReferenceModelTests.boxBlur(image, ReferenceModelTests.gaussianBoxRadius($0), passes: 3)
            }
            for level in Self.levels {
                if_filter_set_simd(Int32(level))
                for engine in Self.engines {
                    if_filter_set_box_strips(engine)
                    for (r, expected) in zip(boxRadii, boxes) {
                        if let got = ReferenceModelTests.filtered("BoxBlur(\(r))", image) {
                            let problem = ReferenceModelTests.difference(got, expected)
                            #expect(problem == nil, "BoxBlur(\(r)) \(w)x\(h)x\(b) engine \(engine) level \(level): \(problem ?? "")")
                        }
                    }
                }
                if_filter_set_box_strips(0)
                for (sigma, expected) in zip(sigmas, gaussians) {
                    if let got = ReferenceModelTests.filtered("GaussianBlur(\(sigma))", image) {
                        let problem = ReferenceModelTests.difference(got, expected)
                        #expect(problem == nil, "GaussianBlur(\(sigma)) \(w)x\(h)x\(b) level \(level): \(problem ?? "")")
                    }
                }
            }
        }
    }

    /// An image of 4.2 MB, at least the size whose output rows are written with non-temporal stores (whole
    /// 64-byte lines only, the bytes around them made apart): every level as the baseline, which never streams
    /// and which the model tests above check.
    @Test func largeImagesAreTheSameAtEveryLevel() {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        let image = ReferenceModelTests.image(1497, 941, 3, seed: 7)
        for spec in ["GaussianBlur(2)", "UnsharpMask(2, 150, 3)"] {
            if_filter_set_simd(Int32(IF_SIMD_BASELINE))
            guard let expected = ReferenceModelTests.filtered(spec, image) else { continue }
            for level in [IF_SIMD_AUTO, IF_SIMD_AVX2] {
                if_filter_set_simd(Int32(level))
                if let got = ReferenceModelTests.filtered(spec, image) {
                    let problem = ReferenceModelTests.difference(got, expected)
                    #expect(problem == nil, "\(spec) level \(level): \(problem ?? "")")
                }
            }
        }
    }

    /// Pillow's sharpening step: in + (in - blurred) * percent / 100 (C division) where |diff| > threshold.
    static func unsharp(_ image: ReferenceModelTests.Image, radius: Float, percent: Int32, threshold: Int32) -> [UInt8] {
        let blurred = ReferenceModelTests.boxBlur(image, ReferenceModelTests.gaussianBoxRadius(radius), passes: 3)
        return zip(image.samples, blurred).map { a, b in
            let diff = Int32(a) - Int32(b)
            var v = Int32(a)
            if abs(diff) > threshold { v = Int32(a) + Int32(bitPattern: UInt32(bitPattern: diff) &* UInt32(bitPattern: percent)) / 100 }
            return UInt8(max(0, min(255, v)))
        }
    }

    @Test func unsharpMaskMatchesTheModel() {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        let settings: [(Float, Int32, Int32)] = [(2, 150, 3), (2, 50, 0), (1, 514, 2), (2, 515, 3), (3, 1000, -1),
                                                 (2, -80, 3), (0.5, 300, 255), (6, 150, 3),
                                                 (9, 150, 3), (9, 700, 2)] // sigma 9: the whole-image passes
        for (n, (w, h, b)) in Self.shapes.enumerated() {
            let image = ReferenceModelTests.image(w, h, b, seed: UInt64(80 + n))
            for (radius, percent, threshold) in settings {
                let expected = Self.unsharp(image, radius: radius, percent: percent, threshold: threshold)
                for level in Self.levels {
                    if_filter_set_simd(Int32(level))
                    let spec = "UnsharpMask(\(radius), \(percent), \(threshold))"
                    if let got = ReferenceModelTests.filtered(spec, image) {
                        let problem = ReferenceModelTests.difference(got, expected)
                        #expect(problem == nil, "\(spec) \(w)x\(h)x\(b) level \(level): \(problem ?? "")")
                    }
                }
            }
        }
    }
}
