import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine can hold a pool of a given size, checked before any
/// worker starts, and the descriptor limit raised where a pool needs it.
/// Each worker costs the host two descriptors (its pipes) and the user one
/// process; the kernel's and the user's limits bound both.
enum ProcessCapacity {
    /// Descriptors kept free for everything else the host process opens.
    static let descriptorHeadroom = 256
    /// Host descriptors per worker: the request pipe's and the result pipe's ends.
    static let descriptorsPerWorker = 2
    /// `RLIM_INFINITY` (all bits set; the C macro does not cross into Swift).
    static let unlimited = rlim_t.max

    /// Checks that `processes` workers can run; raises the soft descriptor
    /// limit to the hard one when the pool needs more. Throws
    /// `invalidArgument` naming the limit that makes the count impossible.
    static func reserve(processes: Int) throws {
        if let threadsMax = readNumber("/proc/sys/kernel/threads-max"), processes > threadsMax {
            throw TaskHostError(.invalidArgument,
                                "\(processes) processes is more than this system can run (kernel.threads-max is \(threadsMax))")
        }
        var nproc = rlimit()
        if getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &nproc) == 0, nproc.rlim_cur != unlimited, UInt64(processes) > UInt64(nproc.rlim_cur) {
            throw TaskHostError(.invalidArgument,
                                "\(processes) processes is more than this user may run (RLIMIT_NPROC is \(nproc.rlim_cur))")
        }
        let (needed, overflow) = processes.multipliedReportingOverflow(by: descriptorsPerWorker)
        guard !overflow, needed < Int.max - descriptorHeadroom else {
            throw TaskHostError(.invalidArgument, "\(processes) processes is more than this system can run")
        }
        let descriptors = UInt64(needed + descriptorHeadroom)
        var files = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur != unlimited,
              descriptors > UInt64(files.rlim_cur) else { return }
        guard files.rlim_max == unlimited || descriptors <= UInt64(files.rlim_max) else {
            throw TaskHostError(.invalidArgument,
                                "\(processes) processes need about \(descriptors) file descriptors; this process may open at most \(files.rlim_max) (RLIMIT_NOFILE)")
        }
        files.rlim_cur = files.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) != 0 {
            throw TaskHostError(.systemError, "cannot raise the file descriptor limit for \(processes) processes: \(Errno.current)")
        }
    }

    private static func readNumber(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
