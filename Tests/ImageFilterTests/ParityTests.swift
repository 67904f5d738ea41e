import Foundation
import Testing
import imagefilter

/// The seed's program (open, filter, save) against Pillow's verdicts on the same files: seeds of every kind and
/// mutants of them (Fixtures/make_parity_fixtures.py). Each file is accepted or refused as Pillow decides, with
/// Pillow's message; where both write a file, its bytes are Pillow's.
@Suite struct ParityTests {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Fixtures/parity"
    }()

    struct Case: CustomStringConvertible {
        let file: String, filter: String, format: String, pixels: String, outcome: String
        var description: String { "\(file) \(filter) --format \(format)" }
    }

    static let cases: [Case] = {
        guard let text = try? String(contentsOfFile: folder + "/verdicts.tsv", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Case(file: f[0], filter: f[1], format: f[2], pixels: f[3], outcome: f[4])
        }
    }()

    /// FNV-1a 64, as the generator hashes bytes.
    static func fnv(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What the plugin's filter_image does to the file, as "ok <hash>" or "error <message>" (path written as {}).
    static func run(_ c: Case) throws -> String {
        let path = folder + "/" + c.file
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var err = [CChar](repeating: 0, count: 4096)
        let filter = try #require(if_filter_parse(c.filter, &err, err.count))
        defer { if_filter_free(filter) }
        var bytes = if_bytes()
        defer { if_bytes_free(&bytes) }
        if if_filter_bytes(filter, path, data, data.count, c.format, 0, 0, &bytes, &err, err.count) != 0 {
            return "error " + message(err).replacingOccurrences(of: path + ": ", with: "")
                .replacingOccurrences(of: path, with: "{}")
        }
        return "ok " + fnv(UnsafeBufferPointer(start: bytes.data, count: bytes.length))
    }

    /// Files Pillow writes itself and the kinds it reads in its own way: comments (COM and a PNG's "comment"
    /// text chunk), ICC profiles, EXIF, CMYK and YCCK, progressive and restart-marker JPEGs, every PNG mode.
    @Test func seedsGiveWhatPillowGives() throws {
        let seeds = Self.cases.filter { !$0.file.hasPrefix("m") }
        #expect(seeds.count >= 40)
        for c in seeds { #expect(try Self.run(c) == c.outcome, "\(c)") }
    }

    /// Damaged files: accepted or refused as Pillow decides, with Pillow's message (but for a lossless JPEG,
    /// which Pillow's libjpeg-turbo 3 reads and Debian's 2.1 cannot: a mutant whose SOF says "lossless" gets our
    /// own message where Pillow's libjpeg calls the data broken), and the same bytes where both write a file.
    @Test func mutantsGetPillowsVerdict() throws {
        let mutants = Self.cases.filter { $0.file.hasPrefix("m") }
        #expect(mutants.count >= 200)
        #expect(mutants.contains { $0.outcome.hasPrefix("ok ") } && mutants.contains { $0.outcome.hasPrefix("error ") })
        for c in mutants {
            let outcome = try Self.run(c)
            if outcome == "error lossless JPEG is not supported by this libjpeg" {
                #expect(c.outcome.hasPrefix("error "), "\(c)")
            } else {
                #expect(outcome == c.outcome, "\(c)")
            }
        }
    }

    /// The samples decoded from every file Pillow opens are Pillow's.
    @Test func decodedPixelsArePillows() throws {
        for c in Self.cases where c.pixels != "-" {
            var image = if_image()
            var format = IF_FORMAT_JPEG
            var err = [CChar](repeating: 0, count: 4096)
            let path = Self.folder + "/" + c.file
            guard if_decode_file(path, 0, &image, &format, &err, err.count) == 0 else {
                Issue.record("\(c.file): \(Self.message(err))")
                continue
            }
            let count = Int(image.width * image.height * image.bands * image.sample_size)
            #expect(Self.fnv(UnsafeBufferPointer(start: image.pixels, count: count)) == c.pixels, "\(c.file)")
            if_image_free(&image)
        }
    }

    /// Pillow's JPEG save writes the comment it read, right after the JFIF (or Adobe) segment; CMYK comes back
    /// as CMYK with Adobe's inverted samples, and PNG refuses it.
    @Test func commentsAndCMYKAsPillowWritesThem() throws {
        let byFile = Dictionary(grouping: Self.cases, by: \.file)
        for file in ["comment.jpg", "cmyk.jpg", "cmyk_comment.jpg", "ycck.jpg", "text_comment.png", "progressive.jpg"] {
            #expect(byFile[file]?.allSatisfy { $0.format == "png" || $0.outcome.hasPrefix("ok ") } == true, "\(file)")
        }
        let cmykToPNG = try #require(byFile["cmyk.jpg"]?.first { $0.format == "png" })
        #expect(cmykToPNG.outcome == "error cannot write mode CMYK as PNG")
        #expect(try Self.run(cmykToPNG) == cmykToPNG.outcome)
    }
}
