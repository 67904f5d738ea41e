#if canImport(Glibc)
import Glibc
#endif
import CTaskHostAPI

/// What a `th_error *` points at: a TaskHostError and its text as C strings.
final class ErrorBox {
    let error: TaskHostError
    let arena = CArena()
    let message: UnsafePointer<CChar>
    let signal: UnsafePointer<CChar>?

    init(_ error: TaskHostError) {
        self.error = error
        message = arena.string(error.message)
        signal = error.signal.map(arena.string)
    }
}

/// Stores a new error for the caller, who frees it with th_error_free.
func storeError(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: any Error) {
    guard let out else { return }
    let hostError = (error as? TaskHostError) ?? TaskHostError(.systemError, "\(error)")
    out.pointee = retainedHandle(ErrorBox(hostError))
}

extension TaskHostError.Kind {
    /// Each kind's C enumerator, found by its name in the C list
    /// (TH_ERROR_KINDS in taskhost.h): the one place kinds are numbered.
    fileprivate static let cKinds: [TaskHostError.Kind: th_error_kind] = {
        var kinds: [TaskHostError.Kind: th_error_kind] = [:]
        for number in 1...th__error_kind_last() {
            if let kind = TaskHostError.Kind(rawValue: String(cString: th__error_kind_text(number))) {
                kinds[kind] = th_error_kind(rawValue: UInt32(number))
            }
        }
        return kinds
    }()

    /// The C enumerator for this kind.
    var cKind: th_error_kind { Self.cKinds[self] ?? TH_ERR_SYSTEM }
}

/// "" with static storage, for a NULL error's message.
private var emptyText: UnsafePointer<CChar> {
    UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}

@c(th_error_kind_of) @usableFromInline
func th_error_kind_of_(_ error: OpaquePointer?) -> th_error_kind {
    box(error, as: ErrorBox.self)?.error.kind.cKind ?? TH_OK
}

@c(th_error_message) @usableFromInline
func th_error_message_(_ error: OpaquePointer?) -> UnsafePointer<CChar> {
    box(error, as: ErrorBox.self)?.message ?? emptyText
}

@c(th_error_kind_name) @usableFromInline
func th_error_kind_name_(_ kind: th_error_kind) -> UnsafePointer<CChar> {
    th__error_kind_text(Int32(bitPattern: kind.rawValue))
}

@c(th_error_signal) @usableFromInline
func th_error_signal_(_ error: OpaquePointer?) -> UnsafePointer<CChar>? {
    box(error, as: ErrorBox.self)?.signal
}

@c(th_error_exit_code) @usableFromInline
func th_error_exit_code_(_ error: OpaquePointer?, _ code: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let value = box(error, as: ErrorBox.self)?.error.code else { return 0 }
    code?.pointee = Int32(truncatingIfNeeded: value)
    return 1
}

@c(th_error_attempts) @usableFromInline
func th_error_attempts_(_ error: OpaquePointer?) -> Int32 {
    Int32(truncatingIfNeeded: box(error, as: ErrorBox.self)?.error.attempts ?? 0)
}

@c(th_error_free) @usableFromInline
func th_error_free_(_ error: OpaquePointer?) {
    release(error, as: ErrorBox.self)
}

@c(th_version) @usableFromInline
func th_version_() -> UnsafePointer<CChar> { versionString.pointer }

@c(th_abi_version) @usableFromInline
func th_abi_version_() -> Int32 { Int32(TH_ABI_MAJOR) }

// @unchecked Sendable: immutable after init (a C string in an arena that lives as long as the process).
private struct VersionString: @unchecked Sendable {
    let arena = CArena()
    let pointer: UnsafePointer<CChar>
    init() { pointer = arena.string(TH_VERSION_STRING) }
}

private let versionString = VersionString()
