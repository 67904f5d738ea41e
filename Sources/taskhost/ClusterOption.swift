import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost
#if MPI
import TaskHostMPI
#endif

/// `--mpi`: the command's pool spans the ranks of the MPI job it runs in.
/// Rank 0 runs the command (reads the input, prints the output); every other
/// rank serves its share of the items here and then ends, printing nothing.
func makeClusterPool(_ host: PluginHost, processes: Int?, taskTimeout: Double?, memoryLimit: UInt64?,
                     maxTasksPerChild: Int?, retries: Int, initializer: (task: String, arguments: [Value])?,
                     taskOutput: TaskOutput, sandbox: Sandbox?) throws -> any TaskPool {
    #if MPI
    guard let pool = try ClusterPool(host: host, processes: processes, taskTimeout: taskTimeout,
                                     memoryLimit: memoryLimit, maxTasksPerChild: maxTasksPerChild, retries: retries,
                                     initializer: initializer, taskOutput: taskOutput, sandbox: sandbox) else {
        exit(0) // a worker rank: its part is done, and rank 0 reports the outcome
    }
    return pool
    #else
    throw CLIError.usage("--mpi needs a taskhost built with Open MPI: swift build --traits MPI (README: Running on a cluster)")
    #endif
}

/// A usage error under `mpirun … taskhost … --mpi`: every rank parses the
/// same command line, so every rank has it, and rank 0 alone reports it.
enum ClusterUsageError {
    /// How long another rank waits for rank 0 to report and end the job.
    static let rankZeroGrace: UInt32 = 5

    /// This process's rank in the mpirun job, when it was started with
    /// `--mpi` under mpirun (Open MPI's `OMPI_COMM_WORLD_RANK`, or PMIx's
    /// `PMIX_RANK`, read before MPI starts); nil otherwise.
    static var rank: Int? {
        guard CommandLine.arguments.dropFirst().contains("--mpi") else { return nil }
        let environment = ProcessInfo.processInfo.environment
        return (environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMIX_RANK"]).flatMap { Int($0) }
    }

    /// Prints `line` on stderr and exits 2 — on a rank other than 0 of an
    /// `--mpi` job, silently, after rank 0 has had time to print it: mpirun
    /// ends the job when rank 0 exits 2, which ends this rank first. Should it
    /// not (rank 0 did not fail the same way, or `--enable-recovery` keeps
    /// ranks running), this rank prints `line`, naming itself, and exits 2.
    static func exit(_ line: String) -> Never {
        if let rank, rank != 0 {
            sleep(rankZeroGrace)
            printError(line + " (MPI rank \(rank))")
        } else {
            printError(line)
        }
        Glibc.exit(2)
    }
}
