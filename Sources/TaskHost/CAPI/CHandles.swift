#if canImport(Glibc)
import Glibc
#endif
import CTaskHostAPI

// The C API (include/taskhost/taskhost.h) is a thin face over the Swift
// library: each C handle is a retained small box around a Swift object, and
// each function converts its arguments, calls the Swift API, and converts
// back. Nothing here decides anything the Swift API already decides.

/// Hands a box to C as a new reference.
func retainedHandle(_ box: AnyObject) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(box).toOpaque())
}

/// Hands a box to C as a borrowed pointer (owned by another object).
func borrowedHandle(_ box: AnyObject) -> OpaquePointer {
    OpaquePointer(Unmanaged.passUnretained(box).toOpaque())
}

/// The box behind a handle, or nil for NULL.
func box<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
    guard let handle else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// Releases the C caller's reference to a handle.
func release<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// Memory handed to C callers as borrowed strings and arrays; freed with
/// the object that owns the arena.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    /// `count` zeroed bytes (at least one, so the pointer is never NULL).
    func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        let block = calloc(1, max(1, count))!
        blocks.append(block)
        return block
    }

    /// A zeroed array of `count` `T`s.
    func array<T>(of type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        allocate(MemoryLayout<T>.stride * count).bindMemory(to: T.self, capacity: max(1, count))
    }

    /// A NUL-terminated copy of `text`.
    func string(_ text: String) -> UnsafePointer<CChar> {
        var text = text
        return text.withUTF8 { utf8 in
            let block = allocate(utf8.count + 1)
            if let base = utf8.baseAddress { block.copyMemory(from: base, byteCount: utf8.count) }
            return UnsafePointer(block.assumingMemoryBound(to: CChar.self))
        }
    }

    deinit { for block in blocks { free(block) } }
}

/// Reads a caller's options structure that starts with its `size`: fields
/// past that size (the caller's header is older) keep the defaults in
/// `defaults`; a size that is unset is an error.
func readOptions<T>(_ options: UnsafePointer<T>?, defaults: T, name: String) throws -> T {
    guard let options else { return defaults }
    let size = UnsafeRawPointer(options).load(as: Int.self)
    guard size >= MemoryLayout<Int>.size else {
        throw TaskHostError(.invalidArgument, "\(name).size is \(size); initialise the options with \(name)_init")
    }
    var result = defaults
    withUnsafeMutableBytes(of: &result) { target in
        target.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(options), count: min(size, target.count)))
    }
    return result
}

/// Runs a C API body: a thrown error goes to `error` (when given) and the
/// result is `failure`.
package func catching<R>(_ out: UnsafeMutablePointer<OpaquePointer?>?, failure: R, _ body: () throws -> R) -> R {
    do {
        return try body()
    } catch {
        storeError(out, error)
        return failure
    }
}

/// An error for a NULL where a handle or pointer is needed.
package func nullArgument(_ what: String) -> TaskHostError {
    TaskHostError(.invalidArgument, "\(what) is NULL")
}
