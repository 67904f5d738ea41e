import Foundation
import Testing
import imagefilter

/// The codecs against files Pillow wrote (Fixtures/make_codec_fixtures.py).
@Suite struct CodecTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Fixtures/codec"
    }()

    func fixture(_ name: String) -> String { Self.fixtures + "/" + name }

    func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "codec-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Decodes a file; returns the image or the error message.
    func decode(_ path: String, maxPixels: Int64 = 0) -> (if_image?, if_format, String) {
        var image = if_image()
        var format = IF_FORMAT_JPEG
        var err = [CChar](repeating: 0, count: 2048)
        let rc = if_decode_file(path, maxPixels, &image, &format, &err, err.count)
        return (rc == 0 ? image : nil, format, rc == 0 ? "" : text(err))
    }

    func pixels(_ image: if_image) -> [UInt8] {
        Array(UnsafeBufferPointer(start: image.pixels,
                                  count: Int(image.width * image.height * image.bands * image.sample_size)))
    }

    func encode(_ image: if_image, png: Bool, quality: Int32 = 0) throws -> [UInt8] {
        var image = image
        var bytes = if_bytes()
        var err = [CChar](repeating: 0, count: 2048)
        let rc = png ? if_encode_png(&image, &bytes, &err, err.count) : if_encode_jpeg(&image, quality, &bytes, &err, err.count)
        defer { if_bytes_free(&bytes) }
        guard rc == 0 else { throw CodecError.failed(text(err)) }
        return Array(UnsafeBufferPointer(start: bytes.data, count: bytes.length))
    }

    enum CodecError: Error, Equatable { case failed(String) }

    /// A C message buffer as a String.
    func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test(arguments: ["rgb", "rgba", "l", "la", "p", "one", "i16"])
    func pngSavesTheBytesPillowSaves(name: String) throws {
        let (decoded, format, error) = decode(fixture("\(name).png"))
        #expect(error == "")
        #expect(format == IF_FORMAT_PNG)
        guard var image = decoded else { return }
        defer { if_image_free(&image) }
        let expected = try Data(contentsOf: URL(fileURLWithPath: fixture("\(name).pillow.png")))
        #expect(try encode(image, png: true) == Array(expected))
    }

    @Test(arguments: ["photo", "grey"])
    func jpegDecodesAndSavesAsPillow(name: String) throws {
        let (decoded, format, error) = decode(fixture("\(name).jpg"))
        #expect(error == "")
        #expect(format == IF_FORMAT_JPEG)
        guard var image = decoded else { return }
        defer { if_image_free(&image) }
        let raw = try Data(contentsOf: URL(fileURLWithPath: fixture("\(name).raw")))
        #expect(pixels(image) == Array(raw))
        let expected = try Data(contentsOf: URL(fileURLWithPath: fixture("\(name).pillow.jpg")))
        #expect(try encode(image, png: false) == Array(expected))
    }

    @Test func modesAsPillowOpensThem() throws {
        let modes = ["rgb": "RGB", "rgba": "RGBA", "l": "L", "la": "LA", "p": "P", "one": "1", "i16": "I;16",
                     "la16": "RGBA"]
        for (name, mode) in modes {
            let (decoded, _, _) = decode(fixture("\(name).png"))
            guard var image = decoded else { Issue.record("\(name) did not decode"); continue }
            #expect(String(cString: if_mode_name(image.mode)) == mode)
            if_image_free(&image)
        }
    }

    /// What Pillow carries from a file into the PNG it saves, in its own way:
    /// a palette's lone transparent entry (tRNS cut after it), a 1-bit key
    /// (read as 255), ICC profiles libpng would refuse, a JPEG's ICC profile,
    /// and 16-bit grey+alpha opened as RGBA.
    @Test(arguments: ["p_trns.png", "one_trns.png", "grey_icc.png", "icc.jpg", "la16.png"])
    func metadataReachesThePNGAsPillowWritesIt(name: String) throws {
        let (decoded, _, error) = decode(fixture(name))
        #expect(error == "")
        guard var image = decoded else { return }
        defer { if_image_free(&image) }
        let stem = (name as NSString).deletingPathExtension
        let expected = try Data(contentsOf: URL(fileURLWithPath: fixture("\(stem).pillow.png")))
        #expect(try encode(image, png: true) == Array(expected))
    }

    /// Pillow stops reading after the image data, so a PNG cut in its
    /// trailing chunks (here: no IEND) still opens, with all its pixels.
    @Test func aPNGWithoutItsEndChunkOpens() throws {
        let png = try Data(contentsOf: URL(fileURLWithPath: fixture("rgb.png")))
        let path = temporaryFolder() + "/no-end.png"
        try png.prefix(png.count - 12).write(to: URL(fileURLWithPath: path))
        let (whole, _, _) = decode(fixture("rgb.png"))
        let (cut, _, error) = decode(path)
        #expect(error == "")
        guard var whole, var cut else { return }
        defer { if_image_free(&whole); if_image_free(&cut) }
        #expect(pixels(cut) == pixels(whole))
    }

    @Test func errorsNameTheFile() throws {
        let folder = temporaryFolder()
        let text = folder + "/notes.jpg"
        try "not an image\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(decode(text).2 == "cannot identify image file '\(text)'")

        let missing = folder + "/missing.png"
        #expect(decode(missing).2 == "\(missing): No such file or directory")

        let png = try Data(contentsOf: URL(fileURLWithPath: fixture("rgb.png")))
        let truncated = folder + "/truncated.png"
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(decode(truncated).2 == "\(truncated): image file is truncated")

        let jpeg = try Data(contentsOf: URL(fileURLWithPath: fixture("photo.jpg")))
        let cut = folder + "/cut.jpg"
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: cut))
        #expect(decode(cut).2 == "\(cut): Truncated File Read") // inside a segment, as Pillow reads it
        let cutScan = folder + "/cut-scan.jpg"
        try jpeg.prefix(jpeg.count - 40).write(to: URL(fileURLWithPath: cutScan))
        #expect(decode(cutScan).2 == "\(cutScan): image file is truncated (27 bytes not processed)")
        // Only the EOI marker missing: libjpeg still wants bytes after the last block, so Pillow refuses it too.
        let noEnd = folder + "/no-eoi.jpg"
        try jpeg.prefix(jpeg.count - 2).write(to: URL(fileURLWithPath: noEnd))
        #expect(decode(noEnd).2 == "\(noEnd): image file is truncated (16 bytes not processed)")

        // A Huffman table whose marker claims an impossible length.
        var broken = [UInt8](jpeg)
        let dht = (0..<broken.count - 1).first { broken[$0] == 0xFF && broken[$0 + 1] == 0xC4 }!
        broken[dht + 2] = 0
        broken[dht + 3] = 1
        let corrupt = folder + "/corrupt.jpg"
        try Data(broken).write(to: URL(fileURLWithPath: corrupt))
        #expect(decode(corrupt).2 == "\(corrupt): broken data stream when reading image file")

        let big = fixture("photo.jpg")
        #expect(decode(big, maxPixels: 1000).2 ==
            "\(big): Image size (1200 pixels) exceeds limit of 1000 pixels, could be decompression bomb DOS attack.")
    }

    @Test func modesJPEGCannotHoldAreRefused() throws {
        let (decoded, _, _) = decode(fixture("rgba.png"))
        guard var image = decoded else { return }
        defer { if_image_free(&image) }
        #expect(throws: CodecError.failed("cannot write mode RGBA as JPEG")) { try encode(image, png: false) }
    }

    @Test func atomicWritesLeaveNothingBehindAndNeverOverwriteTheInput() throws {
        let folder = temporaryFolder() + "/made/on/demand"
        let payload: [UInt8] = [1, 2, 3]
        var err = [CChar](repeating: 0, count: 2048)
        _ = if_make_folders(folder)
        let target = folder + "/out.bin"
        var data = payload
        let rc = data.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var view = if_bytes(data: buffer.baseAddress, length: buffer.count, capacity: buffer.count)
            return if_write_atomically(target, &view, nil, &err, err.count)
        }
        #expect(rc == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(payload))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["out.bin"])
        let refused = data.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var view = if_bytes(data: buffer.baseAddress, length: buffer.count, capacity: buffer.count)
            return if_write_atomically(target, &view, target, &err, err.count)
        }
        #expect(refused == -1)
        #expect(text(err) == "\(target): refusing to overwrite the input image")
    }
}
