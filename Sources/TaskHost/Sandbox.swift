import Foundation
import CTaskHost

/// The opt-in sandbox of a pool's or a process's workers (README "Sandbox").
///
/// Each worker, after it is forked and before it runs any task, locks itself
/// down: it may read only the system's shared libraries, the files already
/// loaded (its plugins and their libraries), locale and time-zone data and
/// each `allowRead` path, and write only beneath each `allowWrite` path —
/// anything else fails with `EACCES`, which the task sees as an ordinary
/// error. It may not open network sockets, start processes or programs,
/// trace, mount, change its privileges or load kernel modules: such a call
/// stops the worker, and the item it was running fails with kind
/// `sandboxViolation`, naming the call.
///
/// ```swift
/// let pool = try Pool(host: host, processes: 2,
///                     sandbox: Sandbox(allowRead: ["photos"], allowWrite: ["output"]))
/// ```
///
/// It needs Linux with Landlock (5.13 or later) and seccomp; a pool or
/// process asked to sandbox on a kernel without them is refused before any
/// worker starts (``Sandbox/checkSupport()``).
public struct Sandbox: Sendable, Hashable {
    /// Files and folders the workers may read (a folder: everything beneath
    /// it). A path that does not exist grants nothing.
    public var allowRead: [String]
    /// Folders (or files) the workers may read, write, create and remove
    /// things beneath. A path that does not exist grants nothing.
    public var allowWrite: [String]

    /// A sandbox that allows, beyond what every worker needs, reading
    /// `allowRead` and writing beneath `allowWrite`. Relative paths are
    /// taken from the current directory when the pool or process is made.
    ///
    /// - Parameters:
    ///   - allowRead: files and folders the workers may read.
    ///   - allowWrite: folders and files the workers may write beneath.
    public init(allowRead: [String] = [], allowWrite: [String] = []) {
        self.allowRead = allowRead
        self.allowWrite = allowWrite
    }

    /// Throws a `systemError` naming what this kernel lacks (Landlock, or
    /// seccomp filters that can trap calls) when workers cannot be sandboxed.
    public static func checkSupport() throws { try support.get() }

    /// The kernel's answer, asked once: it does not change while we run.
    private static let support: Result<Void, TaskHostError> = {
        var why = [CChar](repeating: 0, count: 256)
        guard th__sandbox_support(&why, why.count) >= 1 else {
            let reason = String(decoding: why.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(TaskHostError(.systemError, "the sandbox needs Landlock and seccomp, and \(reason)"))
        }
        return .success(())
    }()

    /// Whether workers can be sandboxed on this kernel.
    public static var isSupported: Bool { (try? checkSupport()) != nil }

    /// The most bytes of paths a sandbox may hold: they travel in every
    /// spawn request, which must fit one fork-server message.
    static let pathBytesLimit = 2 << 20

    /// What a pool or process runs in: nil for none; else the sandbox with
    /// every path absolute (from the current directory), once this kernel is
    /// known to support it and its paths to fit a spawn request.
    static func checked(_ sandbox: Sandbox?) throws -> Sandbox? {
        guard let sandbox else { return nil }
        try checkSupport()
        let here = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : (here as NSString).appendingPathComponent(path)
        }
        let resolved = Sandbox(allowRead: sandbox.allowRead.map(absolute), allowWrite: sandbox.allowWrite.map(absolute))
        let bytes = (resolved.allowRead + resolved.allowWrite).reduce(0) { $0 + $1.utf8.count + 5 }
        guard bytes <= pathBytesLimit else {
            throw TaskHostError(.invalidArgument,
                "the sandbox's paths take \(bytes) bytes, more than the \(pathBytesLimit) a worker's spawn request holds; allow their folders instead")
        }
        return resolved
    }
}

extension FrameBuilder {
    /// A spawn request's sandbox (th_protocol.h): u8 sandboxed, then the
    /// paths to read and the paths to write, each a u32 count and strings.
    func put(_ sandbox: Sandbox?) {
        putU8(sandbox == nil ? 0 : 1)
        for paths in [sandbox?.allowRead ?? [], sandbox?.allowWrite ?? []] {
            putU32(UInt32(paths.count))
            for path in paths { putString(path) }
        }
    }
}

extension Sandbox {
    /// The name of the call a sandboxed worker was stopped at, from what its
    /// SIGSYS handler wrote in its page: nil unless it is a short name of
    /// lower-case letters, digits and underscores (the page is worker-written).
    static func callName(_ bytes: [UInt8]) -> String? {
        let name = bytes.prefix { $0 != 0 }
        guard !name.isEmpty, name.count < bytes.count, name.allSatisfy({
            ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x20
        }) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }
}
