import Foundation
import Testing
import TestSupport

/// The seed's image program through `taskhost filter`, against files Pillow wrote
/// (Tests/ImageFilterTests/Fixtures/make_codec_fixtures.py).
@Suite struct FilterCLITests {
    static let pipeline = TestSupport.repositoryRoot + "/Tests/ImageFilterTests/Fixtures/pipeline"
    static let names = ["image1.jpg", "image2.jpg", "image3.png", "image4.png"]

    /// A fresh working folder holding copies of the inputs.
    func workspace() throws -> String {
        let folder = TestSupport.temporaryFolder("filter-cli")
        for name in Self.names {
            try FileManager.default.copyItem(atPath: Self.pipeline + "/" + name, toPath: folder + "/" + name)
        }
        return folder
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test(arguments: ["CONTOUR", "GaussianBlur(2)", "MedianFilter(3)"])
    func filesAreByteIdenticalToThePythonProgram(filter: String) throws {
        let folder = try workspace()
        let run = try TestSupport.taskhost(["filter", filter] + Self.names + ["-p", "2"], directory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.last == "Image processing finished")
        #expect(Set(lines.dropLast()) == Set(Self.names.map { "Filtered image saved: output/filtered_\($0)" }))
        #expect(run.stderr == "")
        for name in Self.names {
            let ours = bytes(folder + "/output/filtered_" + name)
            let pillow = bytes(Self.pipeline + "/expected/\(filter)_filtered_" + name)
            #expect(ours != nil && ours == pillow, "\(filter) on \(name)")
        }
    }

    @Test func badInputsFailAloneAndLeaveNoPartialFile() throws {
        let folder = try workspace()
        try "not an image\n".write(toFile: folder + "/notes.jpg", atomically: true, encoding: .utf8)
        let png = bytes(folder + "/image3.png")!
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: folder + "/truncated.png"))
        // A Huffman table whose marker claims an impossible length.
        var jpeg = [UInt8](bytes(folder + "/image1.jpg")!)
        let dht = (0..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC4 }!
        jpeg[dht + 2] = 0
        jpeg[dht + 3] = 1
        try Data(jpeg).write(to: URL(fileURLWithPath: folder + "/corrupt.jpg"))
        let inputs = ["image1.jpg", "notes.jpg", "truncated.png", "missing.jpg", "corrupt.jpg", "image3.png"]
        let run = try TestSupport.taskhost(["filter", "contour"] + inputs + ["-o", "out"], directory: folder)
        #expect(run.status == 1)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.last == "Image processing finished")
        #expect(Set(lines.dropLast()) == ["Filtered image saved: out/filtered_image1.jpg", "Filtered image saved: out/filtered_image3.png"])
        #expect(run.stderr.contains("cannot identify image file 'notes.jpg'"))
        #expect(run.stderr.contains("truncated.png: image file is truncated"))
        #expect(run.stderr.contains("missing.jpg: No such file or directory"))
        #expect(run.stderr.contains("corrupt.jpg: broken data stream when reading image file"))
        #expect(run.stderr.contains("taskhost: 4 of 6 images failed"))
        let written = try FileManager.default.contentsOfDirectory(atPath: folder + "/out").sorted()
        #expect(written == ["filtered_image1.jpg", "filtered_image3.png"])
    }

    @Test func overTheDecompressionBombLimitIsRefused() throws {
        let folder = try workspace()
        let run = try TestSupport.taskhost(["filter", "BLUR", "image1.jpg", "image3.png", "--max-pixels", "1000"], directory: folder)
        #expect(run.status == 1)
        #expect(run.stderr.contains("image1.jpg: Image size (3072 pixels) exceeds limit of 1000 pixels, could be decompression bomb DOS attack."))
        #expect(run.stdout.contains("Filtered image saved: output/filtered_image3.png"))
    }

    @Test func sameBaseNameTwiceIsRefusedBeforeAnythingRuns() throws {
        let folder = try workspace()
        try FileManager.default.createDirectory(atPath: folder + "/other", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder + "/image1.jpg", toPath: folder + "/other/image1.jpg")
        let run = try TestSupport.taskhost(["filter", "BLUR", "image1.jpg", "other/image1.jpg"], directory: folder)
        #expect(run.status == 2)
        #expect(run.stderr == "taskhost: 'image1.jpg' and 'other/image1.jpg' would both be written to output/filtered_image1.jpg; rename one\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/output"))
    }

    @Test func anUnknownFilterIsOneLine() throws {
        let folder = try workspace()
        let run = try TestSupport.taskhost(["filter", "CONTOURS", "image1.jpg"], directory: folder)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("taskhost: "))
        #expect(run.stderr.contains("CONTOURS"))
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stdout == "")
    }

    @Test func formatPngChangesTheExtensionAndKeepsPillowsPixels() throws {
        let folder = try workspace()
        let run = try TestSupport.taskhost(["filter", "CONTOUR", "image3.png", "image1.jpg", "--format", "png"], directory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Filtered image saved: output/filtered_image1.png"))
        // A PNG input written as PNG is exactly Pillow's file.
        #expect(bytes(folder + "/output/filtered_image3.png") == bytes(Self.pipeline + "/expected/CONTOUR_filtered_image3.png"))
        #expect(FileManager.default.fileExists(atPath: folder + "/output/filtered_image1.png"))
    }

    @Test func theSeedsApplyFilterTask() throws {
        let folder = try workspace()
        let run = try TestSupport.taskhost(["apply", "imagefilter.apply_filter", "image2.jpg", "CONTOUR"], directory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "\"output/filtered_image2.jpg\"\n")
        #expect(run.stderr == "Filtered image saved: output/filtered_image2.jpg\n")
        #expect(bytes(folder + "/output/filtered_image2.jpg") == bytes(Self.pipeline + "/expected/CONTOUR_filtered_image2.jpg"))
    }
}
