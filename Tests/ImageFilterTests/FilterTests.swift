import Foundation
import Testing
import imagefilter

/// The filters against Pillow's outputs (Fixtures/make_filter_fixtures.py, Fixtures/filters/manifest.txt).
@Suite struct FilterTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Fixtures/filters"
    }()

    struct Case: CustomStringConvertible {
        let input: String
        let spec: String
        let expected: String
        var description: String { "\(input) \(spec)" }
    }

    struct Raw {
        let width: UInt32
        let height: UInt32
        let mode: String
        let samples: [UInt8]
    }

    static func cases() throws -> [Case] {
        let text = try String(contentsOfFile: fixtures + "/manifest.txt", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { return nil }
            return Case(input: parts[0], spec: parts[1], expected: parts[2])
        }
    }

    static func loadRaw(_ name: String) throws -> Raw {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name)))
        guard let newline = data.firstIndex(of: 10) else { throw CocoaError(.fileReadCorruptFile) }
        let header = String(decoding: data[..<newline], as: UTF8.self).split(separator: " ")
        guard header.count == 3, let w = UInt32(header[0]), let h = UInt32(header[1]) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return Raw(width: w, height: h, mode: String(header[2]), samples: Array(data[(newline + 1)...]))
    }

    static func mode(_ name: String) -> if_mode? {
        switch name {
        case "L": return IF_MODE_L
        case "LA": return IF_MODE_LA
        case "RGB": return IF_MODE_RGB
        case "RGBA": return IF_MODE_RGBA
        case "P": return IF_MODE_P
        case "1": return IF_MODE_1
        case "I;16": return IF_MODE_I16
        case "I": return IF_MODE_I
        default: return nil
        }
    }

    static func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs one case; returns nil when it matches, else what went wrong.
    static func check(_ c: Case) throws -> String? {
        var err = [CChar](repeating: 0, count: 1024)
        guard let filter = if_filter_parse(c.spec, &err, err.count) else {
            let got = "parse-error: " + message(err)
            return got == c.expected ? nil : "got \"\(got)\", expected \"\(c.expected)\""
        }
        defer { if_filter_free(filter) }
        if c.expected.hasPrefix("parse-error: ") { return "parsed, expected \"\(c.expected)\"" }

        let raw = try loadRaw(c.input)
        guard let mode = mode(raw.mode) else { return "unknown mode \(raw.mode)" }
        var input = if_image()
        guard if_image_alloc(&input, raw.width, raw.height, mode) == 0 else { return "out of memory" }
        defer { if_image_free(&input) }
        let size = Int(raw.width * raw.height * input.bands * input.sample_size)
        guard raw.samples.count == size else { return "input holds \(raw.samples.count) bytes, expected \(size)" }
        raw.samples.withUnsafeBufferPointer { input.pixels.update(from: $0.baseAddress!, count: size) }
        if mode == IF_MODE_P {
            input.palette_size = 256
            for i in 0..<256 { withUnsafeMutableBytes(of: &input.palette) { $0[i * 4 + 3] = 255 } }
        }

        var output = if_image()
        let rc = if_filter_apply(filter, &input, &output, &err, err.count)
        if rc != 0 {
            let got = "error: " + message(err)
            return got == c.expected ? nil : "got \"\(got)\", expected \"\(c.expected)\""
        }
        defer { if_image_free(&output) }
        if c.expected.hasPrefix("error: ") { return "filtered, expected \"\(c.expected)\"" }

        let expected = try loadRaw(c.expected)
        guard output.width == expected.width, output.height == expected.height, output.mode == mode else {
            return "got a \(output.width)x\(output.height) image, expected \(expected.width)x\(expected.height)"
        }
        let got = Array(UnsafeBufferPointer(start: output.pixels, count: size))
        guard got.count == expected.samples.count else { return "size mismatch" }
        if let i = got.indices.first(where: { got[$0] != expected.samples[$0] }) {
            let sample = i / Int(input.sample_size)
            let band = sample % Int(input.bands), pixel = sample / Int(input.bands)
            let x = pixel % Int(raw.width), y = pixel / Int(raw.width)
            let differing = stride(from: 0, to: got.count, by: 1).filter { got[$0] != expected.samples[$0] }.count
            return "first differing pixel (\(x), \(y)) band \(band): byte \(got[i]), Pillow \(expected.samples[i]) (\(differing) bytes differ)"
        }
        if mode == IF_MODE_P {
            let same = withUnsafeBytes(of: input.palette) { a in withUnsafeBytes(of: output.palette) { b in a.elementsEqual(b) } }
            if !same || output.palette_size != input.palette_size { return "palette not copied" }
        }
        return nil
    }

    /// Every case three times: with the widest versions the CPU has (AVX-512 where a filter has one), with AVX2
    /// at most, and with the SSE2/portable baseline. One test runs them in turn because the SIMD level is
    /// process-wide.
    @Test func everyCaseMatchesPillow() throws {
        let all = try Self.cases()
        #expect(all.count > 1500)
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for level in [IF_SIMD_AUTO, IF_SIMD_AVX2, IF_SIMD_BASELINE] {
            if_filter_set_simd(Int32(level))
            var failures = 0
            for c in all {
                if let problem = try Self.check(c) {
                    failures += 1
                    Issue.record("\(level == IF_SIMD_AUTO ? "auto" : level == IF_SIMD_AVX2 ? "AVX2" : "baseline") SIMD: \(c): \(problem)")
                    if failures >= 30 { break }
                }
            }
            #expect(failures == 0)
        }
    }

    @Test(arguments: ["CONTOUR", "BLUR", "DETAIL", "EDGE_ENHANCE", "EDGE_ENHANCE_MORE", "EMBOSS", "FIND_EDGES",
                      "SHARPEN", "SMOOTH", "SMOOTH_MORE", "GaussianBlur(2.5)", "BoxBlur(1)", "UnsharpMask(2,150,3)",
                      "MedianFilter(3)", "MinFilter(5)", "MaxFilter(3)", "RankFilter(3,2)", "ModeFilter(3)"])
    func canonicalNames(_ name: String) throws {
        var err = [CChar](repeating: 0, count: 512)
        let filter = try #require(if_filter_parse(name.lowercased(), &err, err.count))
        defer { if_filter_free(filter) }
        #expect(String(cString: if_filter_name(filter)) == name)
    }

    @Test func defaultsAndKernelSyntax() throws {
        let expectations = [("gaussianblur", "GaussianBlur(2)"), ("UnsharpMask(3)", "UnsharpMask(3,150,3)"),
                            ("UnsharpMask(1.5, 80)", "UnsharpMask(1.5,80,3)"), ("MedianFilter", "MedianFilter(3)"),
                            ("ModeFilter()", "ModeFilter(3)"),
                            ("Kernel(3x3; 1,2,1, 2,4,2, 1,2,1)", "Kernel(3x3; 1 2 1 2 4 2 1 2 1; scale=16; offset=0)")]
        for (spec, name) in expectations {
            var err = [CChar](repeating: 0, count: 512)
            let filter = try #require(if_filter_parse(spec, &err, err.count), "\(spec): \(Self.message(err))")
            #expect(String(cString: if_filter_name(filter)) == name)
            if_filter_free(filter)
        }
    }

    @Test func unknownNameListsKnownFilters() {
        var err = [CChar](repeating: 0, count: 1024)
        #expect(if_filter_parse("SHARPENER", &err, err.count) == nil)
        let message = Self.message(err)
        #expect(message.contains("SHARPENER") && message.contains("GaussianBlur") && message.contains("CONTOUR"))
        #expect(!message.contains("\n"))
        for bad in ["BoxBlur", "BoxBlur(x)", "UnsharpMask(2, 1.5)", "SMOOTH(1)", "Kernel(3x3)", "MedianFilter(3"] {
            #expect(if_filter_parse(bad, &err, err.count) == nil, "\(bad) should be refused")
            #expect(!Self.message(err).isEmpty)
        }
    }

    @Test func inputIsUntouchedAndMetadataCopied() throws {
        var err = [CChar](repeating: 0, count: 512)
        let filter = try #require(if_filter_parse("ModeFilter", &err, err.count))
        defer { if_filter_free(filter) }
        var input = if_image()
        #expect(if_image_alloc(&input, 9, 7, IF_MODE_P) == 0)
        defer { if_image_free(&input) }
        for i in 0..<63 { input.pixels[i] = UInt8(i % 3) }
        input.palette_size = 3
        withUnsafeMutableBytes(of: &input.palette) { $0[5] = 77 }
        input.transparency = malloc(3)!.assumingMemoryBound(to: UInt8.self) // if_image_free frees it
        input.transparency[0] = 1; input.transparency[1] = 2; input.transparency[2] = 3
        input.transparency_size = 3
        let before = Array(UnsafeBufferPointer(start: input.pixels, count: 63))
        var output = if_image()
        #expect(if_filter_apply(filter, &input, &output, &err, err.count) == 0)
        defer { if_image_free(&output) }
        #expect(Array(UnsafeBufferPointer(start: input.pixels, count: 63)) == before)
        #expect(output.palette_size == 3 && output.transparency_size == 3)
        #expect(output.transparency != input.transparency && output.transparency[2] == 3)
        #expect(withUnsafeBytes(of: output.palette) { $0[5] } == 77)
    }
}
