import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Run the seed's three programs through the real plugins: square with Pool.map, print with two processes, CONTOUR over sample images.")

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Where the image program writes (default: output).", valueName: "DIR"))
    var outputFolder = "output"

    @OptionGroup var host: HostOptions

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()

            print("== Pool(processes: 2).map(square, [1, 2, 3, 4, 5])")
            let pool = try Pool(host: host, processes: 2)
            let results = try pool.map("square.square", [1, 2, 3, 4, 5])
            pool.close()
            print("[" + results.map(JSON.encode).joined(separator: ", ") + "]")
            print()

            print("== Process(print_numbers), Process(print_letters): start, start, join, join")
            try runProcesses(host, ["print.print_numbers", "print.print_letters"])
            print()

            try sharedObjectsChapter(host)

            try imageProgram(host)
        }
    }

    /// The seed's image program: sample photos made here (nothing large ships
    /// in the repository), then CONTOUR over all of them in parallel.
    private func imageProgram(_ host: PluginHost) throws {
        guard let make = try? host.task(named: "imagefilter.make_sample") else {
            print("== image program skipped: the imagefilter plugin is not loaded")
            return
        }
        let samples = outputFolder + "/samples"
        try FileManager.default.createDirectory(atPath: samples, withIntermediateDirectories: true)
        let pool = try Pool(host: host, processes: 2)
        let specs: [(String, Int32, Int32)] = [("image1.jpg", 640, 480), ("image2.jpg", 800, 600), ("image3.png", 512, 384)]
        let made = try pool.starmap(make, specs.enumerated().map { i, spec in
            [.string(samples + "/" + spec.0), .int32(spec.1), .int32(spec.2), .int64(Int64(i + 1))]
        })
        pool.close()
        let paths = try made.map { result -> String in
            guard case .string(let path) = try result.get() else { throw TaskHostError(.systemError, "make_sample returned no path") }
            return path
        }
        print("== Pool().starmap(apply_filter, [(image, CONTOUR) for image in images]) over \(paths.count) sample images in \(samples)")
        let options = try PoolOptions.parse(["-p", "2"])
        try filterImages(host, filter: "CONTOUR", images: paths, outputFolder: outputFolder, format: "same",
                         quality: 75, maxPixels: 0, options: options)
        print()
        print("The filtered images are in \(outputFolder)/ (the samples they came from: \(samples)/).")
    }
}
