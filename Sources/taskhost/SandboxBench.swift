import Foundation
import TaskHost

/// What the sandbox costs (README "Sandbox"): a worker's start, and CONTOUR
/// over the benchmark's JPEGs with and without it. Skipped, with a note, on
/// a kernel that cannot sandbox.
enum SandboxBenchmarks {
    static let skipped = BenchRow(key: "sandbox_skipped", workload: "sandbox workloads", value: 0, unit: "",
                                  note: "skipped: this kernel cannot sandbox")

    /// Process start + join, sandboxed and not, in alternating rounds (best
    /// of 3 each): the difference per process is what a sandboxed start costs
    /// over a plain one. That is more than entering the sandbox (README:
    /// "What it costs"): a plain start takes one of the host's ready spare
    /// workers, while a sandboxed worker is forked for its process by the fork
    /// server (its ruleset kept warm, as in a pool).
    static func workerStart(_ host: PluginHost, quick: Bool) throws -> [BenchRow] {
        guard Sandbox.isSupported else { return [skipped] }
        let count = quick ? 50 : 300
        func round(_ sandbox: Sandbox?) throws -> Double {
            try measure {
                for i in 0..<count {
                    let p = try WorkerProcess(host: host, task: "square.square", arguments: [.int64(Int64(i))],
                                              taskOutput: .stderr, sandbox: sandbox)
                    try p.start()
                    p.join()
                }
            } / Double(count)
        }
        _ = try round(Sandbox()) // the fork server builds the ruleset and the filter once
        var plain = Double.infinity, sandboxed = Double.infinity
        for _ in 0..<(quick ? 1 : 3) {
            plain = min(plain, try round(nil))
            sandboxed = min(sandboxed, try round(Sandbox()))
        }
        return [BenchRow(key: "process_sandboxed_ms", workload: "process start + join, sandboxed",
                         value: sandboxed * 1e3, unit: "ms"),
                BenchRow(key: "sandbox_start_us", workload: "  a sandboxed start's extra (plain ones take a ready spare)",
                         value: (sandboxed - plain) * 1e6, unit: "µs", note: String(format: "unsandboxed: %.3f ms", plain * 1e3))]
    }

    /// A pool like the benchmark's image pool, its workers sandboxed as
    /// `filter`'s are: the inputs' folder readable, the output folder
    /// writable. nil on a kernel that cannot sandbox.
    static func imagePool(_ host: PluginHost, processes: Int, inputs: String, output: String) throws -> Pool? {
        guard Sandbox.isSupported else { return nil }
        return try Pool(host: host, processes: processes, sandbox: Sandbox(allowRead: [inputs], allowWrite: [output]))
    }

    /// The CONTOUR row of the sandboxed pass, against the unsandboxed one.
    static func contourRow(images: Int, sandboxedSeconds: Double, plainSeconds: Double) -> BenchRow {
        guard sandboxedSeconds.isFinite else { return skipped }
        return BenchRow(key: "contour_sandboxed_images", workload: "  the same CONTOUR, workers sandboxed",
                        value: Double(images) / sandboxedSeconds, unit: "images/s",
                        note: String(format: "%+.1f%% time against unsandboxed", (sandboxedSeconds / plainSeconds - 1) * 100))
    }
}
