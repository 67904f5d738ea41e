import Foundation
import Testing
import imagefilter

/// if_filter_jpeg (JPEG to JPEG a strip of rows at a time) against the whole-image way: decode, filter, encode.
@Suite struct PipelineTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Fixtures"
    }()

    /// Kernels: the builtins (integer and float paths), a 5x5 and 3x3 custom of each kind, an asymmetric one.
    static let streamable = ["CONTOUR", "BLUR", "DETAIL", "EDGE_ENHANCE", "EDGE_ENHANCE_MORE", "EMBOSS", "FIND_EDGES",
                             "SHARPEN", "SMOOTH", "SMOOTH_MORE", "Kernel(3x3; 1 2 1 2 4 2 1 2 1)",
                             "Kernel(3x3; 0 -1 2 3 -2 1 0 0 1; scale=4; offset=10)",
                             "Kernel(5x5; 1 2 3 2 1 2 -4 6 -4 2 3 6 20 6 3 2 -4 6 -4 2 1 2 3 2 1; scale=37.5; offset=20.25)",
                             "Kernel(5x5; 1 1 1 1 1 1 2 2 2 1 1 2 -8 2 1 1 2 2 2 1 1 1 1 1 1; scale=8; offset=64)"]
    /// Not kernels: if_filter_jpeg declines them.
    static let declined = ["GaussianBlur(2)", "BoxBlur(1)", "UnsharpMask", "MedianFilter(3)", "ModeFilter(3)"]

    static func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "pipeline-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Inputs: Pillow-written fixtures (RGB and grey, sizes not a multiple of 16) and two made here, wide enough
    /// for the AVX2 kernels' several chunks per row.
    static func inputs() throws -> [String] {
        var paths = [fixtures + "/pipeline/image1.jpg", fixtures + "/pipeline/image2.jpg",
                     fixtures + "/codec/photo.jpg", fixtures + "/codec/grey.jpg", fixtures + "/codec/icc.jpg"]
        let folder = temporaryFolder()
        var err = [CChar](repeating: 0, count: 512)
        for (name, width, height) in [("wide.jpg", Int32(777), Int32(41)), ("tall.jpg", Int32(29), Int32(300))] {
            let path = folder + "/" + name
            #expect(if_make_sample(path, UInt32(width), UInt32(height), 7, &err, err.count) == 0, "\(message(err))")
            paths.append(path)
        }
        return paths
    }

    /// The whole-image way, as the plugin did it before streaming: decode, filter, drop the ICC profile, encode.
    static func whole(_ spec: String, _ data: [UInt8], quality: Int32) -> [UInt8]? {
        var err = [CChar](repeating: 0, count: 2048)
        guard let filter = if_filter_parse(spec, &err, err.count) else { return nil }
        defer { if_filter_free(filter) }
        var input = if_image(), output = if_image()
        var format = IF_FORMAT_JPEG
        guard if_decode_memory("x", data, data.count, 0, &input, &format, &err, err.count) == 0 else { return nil }
        defer { if_image_free(&input) }
        guard if_filter_apply(filter, &input, &output, &err, err.count) == 0 else { return nil }
        defer { if_image_free(&output) }
        free(output.icc_profile)
        output.icc_profile = nil
        output.icc_profile_size = 0
        var bytes = if_bytes()
        defer { if_bytes_free(&bytes) }
        guard if_encode_jpeg(&output, quality, &bytes, &err, err.count) == 0 else { return nil }
        return Array(UnsafeBufferPointer(start: bytes.data, count: bytes.length))
    }

    /// if_filter_jpeg's return code, bytes (after `prefix`, which it must leave alone) and message.
    static func streamed(_ spec: String, _ data: [UInt8], quality: Int32, maxPixels: Int64 = 0,
                         prefix: [UInt8] = []) -> (Int32, [UInt8], String) {
        var err = [CChar](repeating: 0, count: 2048)
        guard let filter = if_filter_parse(spec, &err, err.count) else { return (-2, [], message(err)) }
        defer { if_filter_free(filter) }
        var bytes = if_bytes()
        defer { if_bytes_free(&bytes) }
        if !prefix.isEmpty {
            bytes.data = malloc(prefix.count)!.assumingMemoryBound(to: UInt8.self)
            bytes.capacity = prefix.count
            bytes.length = prefix.count
            for (i, byte) in prefix.enumerated() { bytes.data[i] = byte }
        }
        let rc = if_filter_jpeg(filter, "in.jpg", data, data.count, maxPixels, quality, &bytes, &err, err.count)
        let all = Array(UnsafeBufferPointer(start: bytes.data, count: bytes.length))
        #expect(Array(all.prefix(prefix.count)) == prefix)
        return (rc, Array(all.dropFirst(prefix.count)), rc < 0 ? message(err) : "")
    }

    /// Every kernel on every input, at two qualities and both SIMD levels, gives the whole-image way's bytes.
    @Test func kernelsStreamToTheSameBytes() throws {
        let paths = try Self.inputs()
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for level in [IF_SIMD_AUTO, IF_SIMD_BASELINE] {
            if_filter_set_simd(Int32(level))
            for path in paths {
                let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                for spec in Self.streamable {
                    for quality in [Int32(0), 90] {
                        let expected = try #require(Self.whole(spec, data, quality: quality), "\(spec) on \(path)")
                        let (rc, bytes, error) = Self.streamed(spec, data, quality: quality, prefix: [7, 8, 9])
                        #expect(rc == 0, "\(spec) on \(path): \(error)")
                        #expect(bytes == expected, "\(spec) on \(path), quality \(quality), SIMD level \(level)")
                    }
                }
            }
        }
    }

    @Test func otherFiltersAndImagesSmallerThanTheKernelAreDeclined() throws {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/pipeline/image1.jpg")))
        for spec in Self.declined {
            let (rc, bytes, _) = Self.streamed(spec, data, quality: 0, prefix: [1])
            #expect(rc == 1 && bytes.isEmpty, "\(spec)")
        }
        // 4x4: too small for a 5x5 kernel (Pillow copies it unchanged), fine for a 3x3 one.
        var image = if_image()
        #expect(if_image_alloc(&image, 4, 4, IF_MODE_RGB) == 0)
        for i in 0..<48 { image.pixels[i] = UInt8(i * 5) }
        var encoded = if_bytes()
        var err = [CChar](repeating: 0, count: 512)
        #expect(if_encode_jpeg(&image, 0, &encoded, &err, err.count) == 0)
        let tiny = Array(UnsafeBufferPointer(start: encoded.data, count: encoded.length))
        if_bytes_free(&encoded)
        if_image_free(&image)
        #expect(Self.streamed("BLUR", tiny, quality: 0).0 == 1)
        let (rc, bytes, _) = Self.streamed("CONTOUR", tiny, quality: 0)
        #expect(rc == 0 && bytes == Self.whole("CONTOUR", tiny, quality: 0))
    }

    /// Failures read as if_decode_memory's and leave the output as it was.
    @Test func brokenInputsFailAsDecodingDoes() throws {
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/pipeline/image1.jpg")))
        var broken = jpeg
        let dht = (0..<broken.count - 1).first { broken[$0] == 0xFF && broken[$0 + 1] == 0xC4 }!
        broken[dht + 2] = 0
        broken[dht + 3] = 1
        let cases: [([UInt8], Int64)] = [(Array(jpeg.prefix(jpeg.count / 2)), 0), (Array(jpeg.prefix(jpeg.count - 40)), 0),
                                         (broken, 0), (jpeg, 1000)]
        for (data, maxPixels) in cases {
            var image = if_image()
            var format = IF_FORMAT_JPEG
            var err = [CChar](repeating: 0, count: 2048)
            #expect(if_decode_memory("in.jpg", data, data.count, maxPixels, &image, &format, &err, err.count) == -1)
            let expected = Self.message(err)
            let (rc, bytes, error) = Self.streamed("CONTOUR", data, quality: 0, maxPixels: maxPixels, prefix: [4, 2])
            #expect(rc == -1 && bytes.isEmpty)
            #expect(error == expected)
        }
    }

    /// The AVX2 kernels work through long rows in chunks: on wide images they agree with the SSE2 ones
    /// (which the Pillow fixtures check on small images).
    @Test func wideRowsMatchTheBaseline() throws {
        defer { if_filter_set_simd(Int32(IF_SIMD_AUTO)) }
        for (width, mode) in [(UInt32(1111), IF_MODE_RGB), (UInt32(2049), IF_MODE_L), (UInt32(700), IF_MODE_RGBA)] {
            var input = if_image()
            #expect(if_image_alloc(&input, width, 7, mode) == 0)
            defer { if_image_free(&input) }
            let count = Int(width * 7 * input.bands)
            var state: UInt32 = 12345
            for i in 0..<count {
                state = state &* 1_103_515_245 &+ 12345
                input.pixels[i] = UInt8(truncatingIfNeeded: state >> 16)
            }
            for spec in Self.streamable {
                var err = [CChar](repeating: 0, count: 512)
                let filter = try #require(if_filter_parse(spec, &err, err.count))
                defer { if_filter_free(filter) }
                var results: [[UInt8]] = []
                for level in [IF_SIMD_AUTO, IF_SIMD_BASELINE] {
                    if_filter_set_simd(Int32(level))
                    var output = if_image()
                    #expect(if_filter_apply(filter, &input, &output, &err, err.count) == 0)
                    results.append(Array(UnsafeBufferPointer(start: output.pixels, count: count)))
                    if_image_free(&output)
                }
                #expect(results[0] == results[1], "\(spec), \(width) wide")
            }
        }
    }
}
