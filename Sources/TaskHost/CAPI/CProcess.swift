import Foundation
import CTaskHostAPI

/// What a `th_process *` points at: a WorkerProcess and, once it has one,
/// its outcome as C structures.
// @unchecked Sendable: `outcome` is guarded by `lock`; `process` guards itself.
final class ProcessBox: @unchecked Sendable {
    let process: WorkerProcess
    private let lock = NSLock()
    private var outcome: ResultsBox?

    init(_ process: WorkerProcess) { self.process = process }

    /// The outcome as one-item results, made on first request.
    var result: ResultsBox? {
        lock.lock()
        defer { lock.unlock() }
        if outcome == nil, let result = process.result { outcome = ResultsBox([result]) }
        return outcome
    }
}

@c(th_process_new) @usableFromInline
func th_process_new_(_ host: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?, _ arity: Int,
                     _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    th_process_new_sandboxed_(host, task, args, arity, nil, error)
}

@c(th_process_new_sandboxed) @usableFromInline
func th_process_new_sandboxed_(_ host: OpaquePointer?, _ task: UnsafePointer<CChar>?, _ args: UnsafePointer<th_value>?,
                               _ arity: Int, _ sandbox: UnsafePointer<th_sandbox>?,
                               _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    catching(error, failure: nil) {
        guard let host = box(host, as: HostBox.self) else { throw nullArgument("host") }
        guard let task else { throw nullArgument("the task name") }
        let process = try WorkerProcess(host: host.host, task: String(cString: task),
                                        arguments: try Value.fromC(args, count: arity), taskOutput: .stdout,
                                        sandbox: try Sandbox.fromC(sandbox))
        return retainedHandle(ProcessBox(process))
    }
}

@c(th_process_start) @usableFromInline
func th_process_start_(_ process: OpaquePointer?, _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    catching(error, failure: -1) {
        guard let process = box(process, as: ProcessBox.self) else { throw nullArgument("process") }
        try process.process.start()
        return 0
    }
}

@c(th_process_join) @usableFromInline
func th_process_join_(_ process: OpaquePointer?, _ timeout: Double) -> Int32 {
    guard let process = box(process, as: ProcessBox.self) else { return 0 }
    return process.process.join(timeout: timeout < 0 ? nil : timeout) ? 1 : 0
}

@c(th_process_exit_code) @usableFromInline
func th_process_exit_code_(_ process: OpaquePointer?, _ code: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let exitCode = box(process, as: ProcessBox.self)?.process.exitCode else { return 0 }
    code?.pointee = exitCode
    return 1
}

@c(th_process_pid) @usableFromInline
func th_process_pid_(_ process: OpaquePointer?) -> Int32 {
    box(process, as: ProcessBox.self)?.process.pid ?? 0
}

@c(th_process_is_alive) @usableFromInline
func th_process_is_alive_(_ process: OpaquePointer?) -> Int32 {
    box(process, as: ProcessBox.self)?.process.isAlive == true ? 1 : 0
}

@c(th_process_terminate) @usableFromInline
func th_process_terminate_(_ process: OpaquePointer?) {
    box(process, as: ProcessBox.self)?.process.terminate()
}

@c(th_process_result) @usableFromInline
func th_process_result_(_ process: OpaquePointer?, _ value: UnsafeMutablePointer<UnsafePointer<th_value>?>?,
                        _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    value?.pointee = nil
    error?.pointee = nil
    guard let result = box(process, as: ProcessBox.self)?.result else { return 0 }
    value?.pointee = result.value(at: 0)
    error?.pointee = result.error(at: 0)
    return 1
}

@c(th_process_free) @usableFromInline
func th_process_free_(_ process: OpaquePointer?) {
    guard let box = box(process, as: ProcessBox.self) else { return }
    if box.process.isAlive { box.process.terminate() }
    release(process, as: ProcessBox.self)
}
