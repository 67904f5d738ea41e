import Foundation
import TaskHost
#if MPI
import TaskHostMPI
#endif

/// `taskhost bench --mpi`, run by every rank under mpirun: bench/compare.sh's
/// scale-out rows, measured through a `ClusterPool` (`processes` workers per
/// rank). Returns the rows on rank 0 and nil on the other ranks.
func clusterBenchmarks(host: PluginHost, processes: Int, quick: Bool, workdir: String?) throws -> [BenchRow]? {
    #if MPI
    guard let pool = try ClusterPool(host: host, processes: processes) else { return nil }
    defer {
        pool.close()
        pool.join()
    }
    let ranks = "\(pool.ranks) rank\(pool.ranks == 1 ? "" : "s") x \(processes) workers"
    var rows: [BenchRow] = []
    let rounds = quick ? 1 : 3
    _ = try pool.map("square.square", (1...Int64(64)).map { .int64($0) }, chunksize: 4)

    let count = quick ? 100_000 : 1_000_000
    let expected = (1...Int64(count)).reduce(Int64(0)) { $0 &+ $1 &* $1 }
    let typed = Array(1...Int64(count))
    var seconds = Double.infinity
    for _ in 0..<rounds {
        var sum: Int64 = 0
        seconds = min(seconds, try measure {
            for v in try pool.map("square.square", typed, as: Int64.self).get() { sum &+= v }
        })
        guard sum == expected else { throw TaskHostError(.systemError, "square map checksum mismatch") }
    }
    rows.append(BenchRow(key: "mpi_square_map", workload: "square map, \(count) typed Int64 (packed), \(ranks)",
                         value: Double(count) / seconds, unit: "items/s"))

    let values = (1...Int64(count)).map { Value.int64($0) }
    seconds = .infinity
    for _ in 0..<rounds {
        var sum: Int64 = 0
        seconds = min(seconds, try measure {
            for result in try pool.map("square.square", values) { if case .success(.int64(let v)) = result { sum &+= v } }
        })
        guard sum == expected else { throw TaskHostError(.systemError, "square map checksum mismatch") }
    }
    rows.append(BenchRow(key: "mpi_square_values", workload: "  the same as [Value]", value: Double(count) / seconds,
                         unit: "items/s"))

    // One item per chunk: what handing out, running and gathering one chunk costs, at full flow.
    let chunks = quick ? 500 : 3000
    seconds = try measure { _ = try pool.map("square.square", Array(values.prefix(chunks)), chunksize: 1) }
    rows.append(BenchRow(key: "mpi_chunk_us", workload: "  per chunk, \(chunks) chunks of one item",
                         value: seconds / Double(chunks) * 1e6, unit: "us/chunk"))
    let calls = quick ? 200 : 1000
    seconds = try measure { for i in 0..<calls { _ = try pool.apply("square.square", [.int64(Int64(i))]) } }
    rows.append(BenchRow(key: "mpi_apply_us", workload: "  apply round trip (each rank in turn)",
                         value: seconds / Double(calls) * 1e6, unit: "us/call"))

    if host.plugins.contains(where: { $0.name == "imagefilter" }) {
        let folder = workdir ?? (NSTemporaryDirectory() + "taskhost-bench-mpi-\(getpid())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if workdir == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let images = quick ? 8 : 32
        let paths = (0..<images).map { folder + "/photo\($0).jpg" }
        let missing = paths.enumerated().filter { !FileManager.default.fileExists(atPath: $0.element) }
        for result in try pool.starmap("imagefilter.make_sample", missing.map { i, path in
            [.string(path), .int32(1920), .int32(1080), .int64(Int64(i + 1))]
        }, chunksize: 1) { _ = try result.get() }
        let out = folder + "/out-mpi"
        seconds = .infinity
        for _ in 0..<rounds {
            seconds = min(seconds, try measure {
                for result in try pool.starmap("imagefilter.filter_image", paths.map {
                    [.string($0), .string("CONTOUR"), .string(out), .string("same"), .int32(0), .int64(0)]
                }, chunksize: 1) { _ = try result.get() }
            })
        }
        rows.append(BenchRow(key: "mpi_contour_images", workload: "CONTOUR, \(images) photo JPEGs 1920x1080, \(ranks)",
                             value: Double(images) / seconds, unit: "images/s"))
    }
    return rows
    #else
    throw CLIError.usage("--mpi needs a taskhost built with Open MPI: swift build --traits MPI (README: Running on a cluster)")
    #endif
}
