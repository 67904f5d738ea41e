import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct FilterCommand: TakesItems {
    static let configuration = CommandConfiguration(commandName: "filter",
        abstract: "Apply a Pillow ImageFilter to JPEG and PNG images in parallel (the seed's image program).",
        discussion: """
        FILTER is a name, case-insensitive, with parameters in parentheses: contour, BLUR, GaussianBlur(2.5), \
        BoxBlur(1), UnsharpMask(2,150,3), MedianFilter(5), MinFilter(3), MaxFilter(3), RankFilter(5,12), \
        ModeFilter(3), or a custom kernel (see README).

        Each image is written to DIR/filtered_<name>, atomically; the line "Filtered image saved: <path>" is \
        printed for each, then "Image processing finished".
        """)

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions

    @Argument(help: "The filter, e.g. CONTOUR or GaussianBlur(2).")
    var filter: String

    @Argument(help: "The images (JPEG or PNG).")
    var images: [String]
    var items: [String] { get { images } set { images = newValue } }

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The output folder, created if missing.", valueName: "DIR"))
    var outputFolder = "output"

    @Option(help: ArgumentHelp("Output format: same, png or jpeg.", valueName: "FORMAT"))
    var format = "same"

    @Option(help: ArgumentHelp("JPEG quality, 1 to 95 (as Pillow).", valueName: "Q"))
    var quality: Int32 = 75

    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Refuse images with more pixels (Pillow's decompression-bomb limit).", valueName: "N"))
    var maxPixels: Int64 = 178_956_970

    func validate() throws {
        guard ["same", "png", "jpeg", "jpg"].contains(format.lowercased()) else {
            throw ValidationError("--format must be same, png or jpeg, got '\(format)'")
        }
        guard (1...95).contains(quality) else { throw ValidationError("--quality must be 1 to 95, got \(quality)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            try filterImages(host, filter: filter, images: images, outputFolder: outputFolder,
                             format: format.lowercased() == "jpg" ? "jpeg" : format.lowercased(),
                             quality: quality, maxPixels: maxPixels, options: pool)
        }
    }
}

/// The output name a given input gets: filtered_<basename>, with the
/// extension of the chosen format.
func filteredName(_ image: String, format: String) -> String {
    let base = (image as NSString).lastPathComponent
    let stem = (base as NSString).deletingPathExtension
    switch format {
    case "png": return "filtered_\(stem).png"
    case "jpeg": return "filtered_\(stem).jpg"
    default: return "filtered_\(base)"
    }
}

/// Runs the seed's image program: every image filtered in parallel (starmap),
/// the tasks' lines on stdout, then "Image processing finished".
func filterImages(_ host: PluginHost, filter: String, images: [String], outputFolder: String, format: String,
                  quality: Int32, maxPixels: Int64, options: PoolOptions) throws {
    // Two inputs with one output name would overwrite each other: refuse before anything runs.
    var seen: [String: String] = [:]
    for image in images {
        let name = filteredName(image, format: format)
        if let other = seen[name] {
            throw CLIError.usage("'\(other)' and '\(image)' would both be written to \(outputFolder)/\(name); rename one")
        }
        seen[name] = image
    }
    let task = try host.task(named: "imagefilter.filter_image")
    // Sandboxed unless told otherwise: the inputs readable, the output folder writable.
    let sandbox = try options.sandbox.byDefault(allowRead: readableInputs(images), allowWrite: [outputFolder])
    if sandbox != nil {
        // The workers can't make it: only what exists when they start can be allowed.
        do { try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true) }
        catch { throw CLIError.usage("cannot create the output folder '\(outputFolder)': \(error.localizedDescription)") }
    }
    let pool = try options.makePool(host, output: .stdout, sandbox: sandbox)
    // Check the filter once, so a typo is one line, not one error per image.
    if let check = try? host.task(named: "imagefilter.check_filter") {
        do {
            _ = try pool.apply(check, [.string(filter)])
        } catch let error as TaskHostError where error.kind == .taskError {
            // A bad filter: the plugin's own words, as a usage error.
            throw CLIError.usage(error.detail)
        }
    }
    let argumentLists: [[Value]] = images.map {
        [.string($0), .string(filter), .string(outputFolder), .string(format), .int32(quality), .int64(maxPixels)]
    }
    fflush(nil) // our own lines first: the workers write straight to the same stdout
    let stream = try pool.imapUnordered(task, argumentLists, chunksize: 1, deadline: options.deadline)
    let interrupts = InterruptHandler { stream.cancel() }
    let progress = ProgressBar(total: images.count)
    var failures = FailureSummary(noun: "image")
    var done = 0
    for item in stream {
        done += 1
        if case .failure(let error) = item.result {
            // The plugin's own words name the file; a crash or timeout needs the full message.
            failures.add(error, at: item.index, label: images[item.index],
                         text: error.kind == .taskError ? error.detail : nil)
        }
        progress.update(done)
    }
    progress.finish()
    pool.close()
    pool.join()
    print("Image processing finished")
    withExtendedLifetime(interrupts) {}
    try failures.report(total: images.count)
}

/// What filter's sandbox lets workers read: each input — or, when so many
/// that their paths would crowd a worker's spawn request (over 1 MiB), the
/// folders holding them.
func readableInputs(_ images: [String]) -> [String] {
    guard images.reduce(0, { $0 + $1.utf8.count }) > 1 << 20 else { return images }
    var folders: [String] = []
    var seen = Set<String>()
    for image in images {
        let folder = (image as NSString).deletingLastPathComponent
        if seen.insert(folder).inserted { folders.append(folder.isEmpty ? "." : folder) }
    }
    return folders
}
