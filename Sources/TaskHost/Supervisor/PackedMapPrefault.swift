import Glibc

/// Faulting in a packed map's result array on the caller's thread while the
/// job runs.
///
/// A map of 10⁷ values returns a fresh 229 MiB `[TaskResult]`: left to
/// itself, the supervisor thread would take one page fault per 4 KiB as it
/// writes the results (the kernel zeroing and charging each page, about
/// 1.5 µs each here), serially with packing and reading the workers' frames.
/// The caller's thread has nothing to do but wait, so it faults the pages in
/// ahead of the writer (`MADV_POPULATE_WRITE`, which maps the pages writable
/// without touching their contents, so it never races with the results
/// being written).
enum ResultPrefault {
    /// Below this many bytes the faults cost less than the system calls.
    static let minimumBytes = 1 << 20

    /// `MADV_POPULATE_WRITE` (Linux 5.14); older kernels refuse it with
    /// `EINVAL` and the writer faults the pages in itself, as before.
    private static let populateWrite: Int32 = 23

    /// Pages faulted in per system call: small enough to stay ahead of the
    /// writer from the start.
    private static let sliceBytes = 2 << 20

    /// Faults in the whole pages of `bytes`, front to back. Every slot of a
    /// result array is written exactly once, so no page is faulted in for
    /// nothing.
    static func populate(_ bytes: UnsafeMutableRawBufferPointer) {
        guard bytes.count >= minimumBytes, let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + bytes.count) / page * page
        var at = start
        while at < end {
            let length = min(sliceBytes, end - at)
            guard madvise(UnsafeMutableRawPointer(bitPattern: at), length, populateWrite) == 0 else { return }
            at += length
        }
    }
}
