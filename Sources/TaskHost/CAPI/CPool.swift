import Foundation
import CTaskHostAPI

/// What a `th_pool *` points at: a pool (a `Pool`, or TaskHostMPI's
/// `ClusterPool` from `th_cluster_pool_new`: the same calls run on both), how
/// it runs one call with its outcome as a result, the per-call options the C
/// API keeps at the pool, and whether it was closed.
// @unchecked Sendable: `closed` is guarded by `lock`; the rest is immutable.
final class PoolBox: @unchecked Sendable {
    let pool: any TaskPool
    let applyResult: (TaskInfo, [Value], Double?) -> TaskResult
    let chunksize: Int?
    let deadline: Double?
    private let lock = NSLock()
    private var closed = false

    init(pool: any TaskPool, chunksize: Int?, deadline: Double?,
         applyResult: @escaping (TaskInfo, [Value], Double?) -> TaskResult) {
        self.pool = pool
        self.applyResult = applyResult
        self.chunksize = chunksize
        self.deadline = deadline
    }

    /// Marks the pool closed; calls after this are refused.
    func close() {
        lock.lock()
        closed = true
        lock.unlock()
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }
}

/// `th_pool_options` read and checked (before anything starts), as the Swift
/// pool initializers take them: each field's 0 is its default, as the header
/// says. For `th_pool_new` and for pools of other modules (`th_cluster_pool_new`).
package struct CPoolOptions {
    package let processes: Int?
    package let taskTimeout: Double?
    package let memoryLimit: UInt64?
    package let maxTasksPerChild: Int?
    package let retries: Int
    package let taskOutput: TaskOutput
    package let sandbox: Sandbox?
    /// Kept at the pool for each call.
    let chunksize: Int?
    let deadline: Double?

    package init(_ options: UnsafePointer<th_pool_options>?) throws {
        var defaults = th_pool_options()
        th_pool_options_init(&defaults)
        let o = try readOptions(options, defaults: defaults, name: "th_pool_options")
        processes = try cSize(o.processes, "th_pool_options.processes")
        chunksize = try cSize(o.chunksize, "th_pool_options.chunksize")
        maxTasksPerChild = try cSize(o.max_tasks_per_child, "th_pool_options.max_tasks_per_child")
        retries = try cSize(o.retries, "th_pool_options.retries") ?? 0
        taskTimeout = o.task_timeout == 0 ? nil : try OptionChecks.timeout(o.task_timeout, "th_pool_options.task_timeout")
        guard !o.deadline.isNaN, o.deadline >= 0 else {
            throw TaskHostError(.invalidArgument, "th_pool_options.deadline must be 0 (none), positive or INFINITY, got \(OptionChecks.format(o.deadline))")
        }
        deadline = o.deadline == 0 ? nil : try OptionChecks.deadline(o.deadline)
        memoryLimit = o.memory_limit == 0 ? nil : o.memory_limit
        taskOutput = o.task_output_to_stdout ? .stdout : .stderr
        sandbox = try Sandbox.fromC(o.sandbox)
    }
}

/// The plugin host behind a `th_host *`; `invalidArgument` for NULL.
package func hostBehind(_ handle: OpaquePointer?) throws -> PluginHost {
    guard let host = box(handle, as: HostBox.self) else { throw nullArgument("host") }
    return host.host
}

/// A new `th_pool *` (the C caller's reference) for a pool made with `options`:
/// `th_pool_map`, `th_pool_starmap` and the rest run on it; `th_pool_apply`
/// runs `applyResult`, which returns a call's outcome, a bad argument included.
package func poolHandle(_ pool: any TaskPool, _ options: CPoolOptions,
                        applyResult: @escaping (TaskInfo, [Value], Double?) -> TaskResult) -> OpaquePointer {
    retainedHandle(PoolBox(pool: pool, chunksize: options.chunksize, deadline: options.deadline, applyResult: applyResult))
}

@c(th_pool_new) @usableFromInline
func th_pool_new_(_ host: OpaquePointer?, _ options: UnsafePointer<th_pool_options>?,
                  _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    catching(error, failure: nil) {
        let host = try hostBehind(host)
        let o = try CPoolOptions(options)
        let pool = try Pool(host: host, processes: o.processes, taskTimeout: o.taskTimeout, memoryLimit: o.memoryLimit,
                            maxTasksPerChild: o.maxTasksPerChild, retries: o.retries, taskOutput: o.taskOutput,
                            sandbox: o.sandbox)
        return poolHandle(pool, o) { info, arguments, deadline in pool.applyResult(info, arguments, deadline: deadline) }
    }
}

/// The common part of map, starmap and apply: checks the call, converts the
/// arguments (`rows` × `arity` values), runs `body`, and hands the results to
/// the caller.
private func poolCall(_ pool: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?,
                      rows: Int, arity: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                      _ error: UnsafeMutablePointer<OpaquePointer?>?,
                      _ body: (PoolBox, TaskInfo, [Value]) throws -> [TaskResult]) -> Int32 {
    catching(error, failure: -1) {
        guard let pool = box(pool, as: PoolBox.self) else { throw nullArgument("pool") }
        guard let task else { throw nullArgument("the task name") }
        guard let out else { throw nullArgument("out") }
        guard !pool.isClosed else { throw TaskHostError(.invalidArgument, "the pool is closed") }
        let info = try pool.pool.host.task(named: String(cString: task))
        guard arity == info.parameters.count else { throw info.argumentCountError(got: "rows of \(arity)") }
        let (total, overflow) = rows.multipliedReportingOverflow(by: arity)
        guard !overflow, rows >= 0 else { throw TaskHostError(.invalidArgument, "count × arity overflows") }
        let values = try Value.fromC(args, count: total)
        out.pointee = retainedHandle(ResultsBox(try body(pool, info, values)))
        return 0
    }
}

@c(th_pool_map) @usableFromInline
func th_pool_map_(_ pool: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?, _ count: Int,
                  _ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    poolCall(pool, task, args, rows: count, arity: 1, out, error) { pool, info, values in
        try pool.pool.map(info.qualifiedName, values, chunksize: pool.chunksize, deadline: pool.deadline)
    }
}

@c(th_pool_starmap) @usableFromInline
func th_pool_starmap_(_ pool: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?, _ count: Int,
                      _ arity: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                      _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    poolCall(pool, task, args, rows: count, arity: arity, out, error) { pool, info, values in
        let rows = (0..<count).map { row in Array(values[row * arity ..< row * arity + arity]) }
        return try pool.pool.starmap(info.qualifiedName, rows, chunksize: pool.chunksize, deadline: pool.deadline)
    }
}

@c(th_pool_apply) @usableFromInline
func th_pool_apply_(_ pool: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?, _ arity: Int,
                    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    poolCall(pool, task, args, rows: 1, arity: arity, out, error) { pool, info, values in
        // As Pool.apply, but its outcome stays a result, not a throw.
        [pool.applyResult(info, values, pool.deadline)]
    }
}

@c(th_pool_close) @usableFromInline
func th_pool_close_(_ pool: OpaquePointer?) {
    guard let pool = box(pool, as: PoolBox.self) else { return }
    pool.close()
    pool.pool.close()
}

@c(th_pool_join) @usableFromInline
func th_pool_join_(_ pool: OpaquePointer?) {
    guard let pool = box(pool, as: PoolBox.self) else { return }
    pool.close()
    pool.pool.join()
}

@c(th_pool_terminate) @usableFromInline
func th_pool_terminate_(_ pool: OpaquePointer?) {
    guard let pool = box(pool, as: PoolBox.self) else { return }
    pool.close()
    pool.pool.terminate()
}

@c(th_pool_free) @usableFromInline
func th_pool_free_(_ pool: OpaquePointer?) {
    release(pool, as: PoolBox.self)  // Pool's deinit terminates what still runs
}

/// A `size_t` field as a Swift count: nil for 0 (the default), the value
/// when it fits an `Int`, else `invalidArgument` quoting it as C has it.
func cSize(_ field: Int, _ name: String) throws -> Int? {
    let value = UInt(bitPattern: field)
    guard value != 0 else { return nil }
    guard let count = Int(exactly: value) else {
        throw TaskHostError(.invalidArgument, "\(name) is \(value), more than the most (\(Int.max))")
    }
    return count
}
