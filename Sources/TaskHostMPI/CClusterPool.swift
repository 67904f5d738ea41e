import CTaskHostAPI
import TaskHost

// The C face of ClusterPool (include/taskhost/cluster.h), in the library
// libTaskHostCluster.so: `th_cluster_pool_new` makes a `th_pool *` whose
// workers span the ranks, and taskhost.h's pool calls run on it. Built
// without the package trait MPI, the function exists and says how to build it.

@c(th_cluster_pool_new) @usableFromInline
func th_cluster_pool_new_(_ host: OpaquePointer?, _ options: UnsafePointer<th_pool_options>?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?,
                          _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    catching(error, failure: -1) {
        let host = try hostBehind(host)
        guard let out else { throw nullArgument("pool") }
        out.pointee = nil
        let o = try CPoolOptions(options)
        #if MPI
        // Worker ranks serve here until rank 0 closes the pool, then get nil.
        guard let pool = try ClusterPool(host: host, processes: o.processes, taskTimeout: o.taskTimeout,
                                         memoryLimit: o.memoryLimit, maxTasksPerChild: o.maxTasksPerChild,
                                         retries: o.retries, taskOutput: o.taskOutput, sandbox: o.sandbox) else { return 0 }
        out.pointee = poolHandle(pool, o) { info, arguments, deadline in pool.applyResult(info, arguments, deadline: deadline) }
        return 0
        #else
        _ = (host, o)
        throw TaskHostError(.systemError, "th_cluster_pool_new needs TaskHost built with Open MPI: swift build --traits MPI (README: Running on a cluster)")
        #endif
    }
}
