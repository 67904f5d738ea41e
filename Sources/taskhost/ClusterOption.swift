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
