import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench",
        abstract: "Measure the standard workloads through the Swift API and print one table.",
        discussion: "Build with -c release for meaningful numbers: swift build -c release && .build/release/taskhost bench")

    @OptionGroup var host: HostOptions

    @Flag(help: "A smoke run: small sizes, a few seconds.")
    var quick = false

    @Option(name: [.customShort("p"), .customLong("processes")], help: "Worker processes.")
    var processes: Int = 2

    @Option(help: ArgumentHelp("Keep the generated images here (default: a temporary folder, removed).", valueName: "DIR"))
    var workdir: String?

    @Flag(help: "Print key, value and unit per line, tab-separated (for bench/compare.sh).")
    var tsv = false

    @Option(help: ArgumentHelp("Run only the workloads whose key starts with this (square, apply, process, sandbox, ipc, image, filter).", valueName: "KEY"))
    var only: String?

    @Flag(help: "The scale-out rows instead, through a pool spanning the ranks of the MPI job this runs in (under mpirun; -p per rank).")
    var mpi = false

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let rows: [BenchRow]
            if mpi {
                guard let clusterRows = try clusterBenchmarks(host: host, processes: processes, quick: quick, workdir: workdir) else {
                    return // a worker rank: rank 0 prints the table
                }
                rows = clusterRows
            } else {
                rows = try Benchmarks(host: host, processes: processes, quick: quick, workdir: workdir, only: only).runAll()
            }
            print(tsv ? rows.map { "\($0.key)\t\($0.value)\t\($0.unit)" }.joined(separator: "\n") : BenchTable.render(rows))
        }
    }
}

/// One line of the benchmark table.
struct BenchRow {
    /// A stable name for scripts: square_map, apply_us, filter_CONTOUR, …
    var key: String
    var workload: String
    var value: Double
    var unit: String
    var note: String = ""
}

enum BenchTable {
    static func render(_ rows: [BenchRow]) -> String {
        let width = max(40, rows.map(\.workload.count).max() ?? 0)
        var lines = ["workload".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + "value".leftPad(14) + "  unit"]
        lines.append(String(repeating: "-", count: width + 30))
        for row in rows {
            let value = row.value >= 100 ? String(format: "%.0f", row.value) : String(format: "%.2f", row.value)
            lines.append(row.workload.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value.leftPad(14)
                         + "  " + row.unit + (row.note.isEmpty ? "" : "   " + row.note))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

/// Seconds taken by `body`.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A memory figure of a process from /proc (VmRSS: now, VmHWM: its peak), in bytes.
func statusBytes(_ field: String, of pid: pid_t = getpid()) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
    return 0
}

/// Peak resident set (VmHWM) of a process, in bytes.
func peakResidentBytes(_ pid: pid_t = getpid()) -> Int { statusBytes("VmHWM", of: pid) }

struct Benchmarks {
    let host: PluginHost
    let processes: Int
    let quick: Bool
    let workdir: String?
    let only: String?

    func wanted(_ key: String) -> Bool { only.map { key.hasPrefix($0) } ?? true }

    func runAll() throws -> [BenchRow] {
        var rows: [BenchRow] = []
        if ["square_map", "square_values", "square_stream"].contains(where: wanted) { rows += try squareMap() }
        if wanted("apply") { rows += try applyRoundTrip() }
        if wanted("process") { rows += try processStartJoin() }
        if wanted("sandbox") { rows += try SandboxBenchmarks.workerStart(host, quick: quick) }
        if wanted("ipc") { rows += try IPCBenchmarks(host: host, quick: quick).run() }
        if wanted("image") || wanted("filter") || wanted("contour") || wanted("codec") {
            // `--only filter`: the per-filter rows alone (one sample image, no pool passes over 32).
            let filtersOnly = only.map { $0.hasPrefix("filter") } ?? false
            rows += try ImageBenchmarks(host: host, processes: processes, quick: quick, workdir: workdir,
                                        filtersOnly: filtersOnly).run()
        }
        rows.append(BenchRow(key: "rss_host_mib", workload: "peak RSS, host", value: Double(peakResidentBytes()) / 1_048_576, unit: "MiB",
                             note: wanted("square_values") ? "(includes the square maps' materialised inputs and results)" : ""))
        return rows
    }

    func squareMap() throws -> [BenchRow] {
        let count = quick ? 1_000_000 : 10_000_000
        let pool = try Pool(host: host, processes: processes)
        defer { pool.terminate() }
        _ = try pool.map("square.square", [1, 2, 3])
        let expected = (1...Int64(count)).reduce(Int64(0)) { $0 &+ $1 &* $1 }
        var rows: [BenchRow] = []
        var streamed: [BenchRow] = []
        if wanted("square_stream") {
            // Streamed values: the input is never materialised; the host's memory stays flat.
            let before = statusBytes("VmRSS")
            var sum: Int64 = 0
            let seconds = try measure {
                // A range, not `lazy.map { … }`: that one isn't Sendable, so Swift would pick
                // the eager `map` and hand imap a materialised array.
                let stream = try pool.imap("square.square", values: 1...Int64(count), chunksize: 8192)
                for item in stream { if case .success(.int64(let v)) = item.result { sum &+= v } }
            }
            guard sum == expected else { throw TaskHostError(.systemError, "square map checksum mismatch") }
            let growth = Double(statusBytes("VmRSS") - before) / 1_048_576
            streamed = [BenchRow(key: "square_stream", workload: "  the same as Values, streamed (imap)",
                                 value: Double(count) / seconds, unit: "items/s"),
                        BenchRow(key: "rss_stream_growth_mib", workload: "  host RSS growth over that stream",
                                 value: growth, unit: "MiB")]
        }
        if wanted("square_map") {
            // Typed arrays travel packed. Timed: the call (its result array included) and summing the output.
            let input = Array(1...Int64(count))
            var sum: Int64 = 0
            let seconds = try measure {
                let squares = try pool.map("square.square", input, as: Int64.self).get()
                sum = squares.reduce(0, &+)
            }
            guard sum == expected else { throw TaskHostError(.systemError, "square map checksum mismatch") }
            rows.append(BenchRow(key: "square_map", workload: "square map, \(count) items, \(processes) workers",
                                 value: Double(count) / seconds, unit: "items/s", note: "typed [Int64], packed"))
        }
        if wanted("square_values") {
            // As Python's Pool.map: a list of values in, a list of results out.
            let values = (1...Int64(count)).map { Value.int64($0) }
            var sum: Int64 = 0
            let seconds = try measure {
                for result in try pool.map("square.square", values) { if case .success(.int64(let v)) = result { sum &+= v } }
            }
            guard sum == expected else { throw TaskHostError(.systemError, "square map checksum mismatch") }
            rows.append(BenchRow(key: "square_values", workload: "  the same as [Value] (map)",
                                 value: Double(count) / seconds, unit: "items/s"))
            // The floor of any map returning a fresh [TaskResult] of this size: its pages faulted in,
            // its results written, read and destroyed, and nothing else (no pool, no packing).
            var floorSum: Int64 = 0
            let floorSeconds = measure {
                let results = [TaskResult](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for i in 0..<count { (buffer.baseAddress! + i).initialize(to: .success(.int64(Int64(i + 1) &* Int64(i + 1)))) }
                    initialized = count
                }
                for result in results { if case .success(.int64(let v)) = result { floorSum &+= v } }
            }
            guard floorSum == expected else { throw TaskHostError(.systemError, "result array checksum mismatch") }
            rows.append(BenchRow(key: "values_result_array", workload: "  its [TaskResult] alone: written, read, freed",
                                 value: Double(count) / floorSeconds, unit: "items/s"))
        }
        return rows + streamed
    }

    func applyRoundTrip() throws -> [BenchRow] {
        let calls = quick ? 2_000 : 20_000
        let pool = try Pool(host: host, processes: processes)
        defer { pool.terminate() }
        for _ in 0..<100 { _ = try pool.apply("square.square", [3]) }
        let seconds = try measure {
            for i in 0..<calls { _ = try pool.apply("square.square", [.int64(Int64(i))]) }
        }
        return [BenchRow(key: "apply_us", workload: "apply round trip, warm pool", value: seconds / Double(calls) * 1e6, unit: "µs/call")]
    }

    func processStartJoin() throws -> [BenchRow] {
        let count = quick ? 50 : 300
        let seconds = try measure {
            for i in 0..<count {
                let p = try WorkerProcess(host: host, task: "square.square", arguments: [.int64(Int64(i))], taskOutput: .stderr)
                try p.start()
                p.join()
            }
        }
        return [BenchRow(key: "process_ms", workload: "process start + join", value: seconds / Double(count) * 1e3, unit: "ms")]
    }
}

/// The largest peak RSS among this host's live workers (children of its fork server).
func workerPeakResidentBytes(_ host: PluginHost) -> Int {
    let server = host.forkServerPID
    guard let text = try? String(contentsOfFile: "/proc/\(server)/task/\(server)/children", encoding: .utf8) else { return 0 }
    return text.split(separator: " ").compactMap { pid_t($0) }.map { peakResidentBytes($0) }.max() ?? 0
}

/// The image workloads need the imagefilter plugin; without it they are skipped.
struct ImageBenchmarks {
    let host: PluginHost
    let processes: Int
    let quick: Bool
    let workdir: String?
    /// Only each filter alone on one core (the `filter_*` rows), on one sample image.
    var filtersOnly = false

    static let filters = ["BLUR", "CONTOUR", "DETAIL", "EDGE_ENHANCE", "EDGE_ENHANCE_MORE", "EMBOSS", "FIND_EDGES",
                          "SHARPEN", "SMOOTH", "SMOOTH_MORE", "GaussianBlur(2)", "BoxBlur(2)", "UnsharpMask(2,150,3)",
                          "MedianFilter(3)", "MinFilter(3)", "MaxFilter(3)", "ModeFilter(3)"]

    func run() throws -> [BenchRow] {
        guard host.plugins.contains(where: { $0.name == "imagefilter" }) else {
            return [BenchRow(key: "images_skipped", workload: "image workloads", value: 0, unit: "",
                             note: "skipped: imagefilter plugin not loaded")]
        }
        let folder = workdir ?? (NSTemporaryDirectory() + "taskhost-bench-\(getpid())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if workdir == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let count = filtersOnly ? 1 : quick ? 8 : 32
        let pool = try Pool(host: host, processes: processes)
        defer { pool.terminate() }
        // The seed's inputs: photo-like 1920x1080 JPEGs, made here.
        let paths = (0..<count).map { folder + "/photo\($0).jpg" }
        for result in try pool.starmap("imagefilter.make_sample", paths.enumerated().map { i, path in
            [.string(path), .int32(1920), .int32(1080), .int64(Int64(i + 1))]
        }) { _ = try result.get() }
        if filtersOnly { return try filterRows(paths[0]) }

        var rows: [BenchRow] = []
        let out = folder + "/out"
        // Warm up (page cache, workers).
        _ = try pool.starmap("imagefilter.transcode", paths.prefix(2).map { [.string($0), .string(out)] })
        // Best of 3 rounds, the two workloads taking turns: a pass over 32 images is short
        // enough for this VM's noise to swing a single measurement by a quarter.
        func contour(_ pool: Pool) throws -> Double {
            try measure {
                for result in try pool.starmap("imagefilter.filter_image", paths.map {
                    [.string($0), .string("CONTOUR"), .string(out), .string("same"), .int32(0), .int64(0)]
                }, chunksize: 1) { _ = try result.get() }
            }
        }
        let sandboxed = try SandboxBenchmarks.imagePool(host, processes: processes, inputs: folder, output: out)
        defer { sandboxed?.terminate() }
        if let sandboxed { _ = try contour(sandboxed) } // its warm-up
        var codecSeconds = Double.infinity, contourSeconds = Double.infinity, sandboxedSeconds = Double.infinity
        for _ in 0..<(quick ? 1 : 3) {
            codecSeconds = min(codecSeconds, try measure {
                for result in try pool.starmap("imagefilter.transcode", paths.map { [.string($0), .string(out)] }, chunksize: 1) {
                    _ = try result.get()
                }
            })
            contourSeconds = min(contourSeconds, try contour(pool))
            if let sandboxed { sandboxedSeconds = min(sandboxedSeconds, try contour(sandboxed)) }
        }
        rows.append(BenchRow(key: "contour_images", workload: "CONTOUR, \(count) photo JPEGs 1920x1080, \(processes) workers",
                             value: Double(count) / contourSeconds, unit: "images/s"))
        rows.append(SandboxBenchmarks.contourRow(images: count, sandboxedSeconds: sandboxedSeconds, plainSeconds: contourSeconds))
        rows.append(BenchRow(key: "codec_images", workload: "  decode + encode alone, same images",
                             value: Double(count) / codecSeconds, unit: "images/s",
                             note: String(format: "filtering adds %.0f%%", (contourSeconds / codecSeconds - 1) * 100)))
        rows.append(BenchRow(key: "rss_worker_mib", workload: "peak RSS, largest image worker",
                             value: Double(workerPeakResidentBytes(host)) / 1_048_576, unit: "MiB"))
        return rows + (try filterRows(paths[0]))
    }

    /// Each filter alone, on one core, in one worker, over one decoded image.
    func filterRows(_ path: String) throws -> [BenchRow] {
        let single = try Pool(host: host, processes: 1)
        defer { single.terminate() }
        var rows: [BenchRow] = []
        for filter in Self.filters {
            let rounds: Int32 = quick ? 1 : 3 // at least; and at least 0.5 s but with --quick (filter_speed)
            let speed = try single.apply("imagefilter.filter_speed", [.string(path), .string(filter), .int32(rounds)])
            guard case .double(let mpx) = speed else { continue }
            rows.append(BenchRow(key: "filter_\(filter)", workload: "  \(filter), one 1920x1080 RGB image, 1 core",
                                 value: mpx, unit: "Mpx/s"))
        }
        return rows
    }
}
