import CTaskHostShared

/// One 64-bit number every process sees (`value:int64`, `value:uint64`,
/// `value:double`), with atomic operations and a lock for longer updates,
/// as Python's `Value`.
public final class SharedValue: SharedObject, @unchecked Sendable {
    /// The value as an int64 (the bits of a uint64 or double reinterpreted).
    public var int64: Int64 {
        get { th_value_load_int64(handle) }
        set { th_value_store_int64(handle, newValue) }
    }
    /// The value as a uint64.
    public var uint64: UInt64 {
        get { th_value_load_uint64(handle) }
        set { th_value_store_int64(handle, Int64(bitPattern: newValue)) }
    }
    /// The value as a double.
    public var double: Double {
        get { th_value_load_double(handle) }
        set { th_value_store_double(handle, newValue) }
    }
    /// Adds atomically (wrapping for integers); returns the new value.
    @discardableResult public func add(_ delta: Int64) -> Int64 { th_value_add_int64(handle, delta) }
    /// Adds atomically to a double value; returns the new value.
    @discardableResult public func add(_ delta: Double) -> Double { th_value_add_double(handle, delta) }
    /// Stores `desired` if the bits equal `expected`'s; returns whether it did.
    public func compareExchange(expected: Int64, desired: Int64) -> Bool {
        var bits = UInt64(bitPattern: expected)
        return th_value_compare_exchange(handle, &bits, UInt64(bitPattern: desired)) == 1
    }
    /// Runs `body` holding the value's lock (for updates longer than one operation).
    public func withLock<T>(_ body: (LockAcquisition) throws -> T) throws -> T { try withObjectLock(self, body) }
}

/// A fixed number of elements of one type every process sees, with a lock,
/// as Python's `Array`.
public final class SharedArray: SharedObject, @unchecked Sendable {
    /// The elements' type (bool, int32, int64, uint64 or double).
    public var elementType: ValueType { ValueType(rawValue: UInt8(th_shared_element_type(handle)))! }

    /// The elements as raw bytes (no copy: writes are seen by every process).
    public func withUnsafeMutableBytes<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) rethrows -> T {
        var length = 0
        let data = th_shared_data(handle, &length)
        return try body(UnsafeMutableRawBufferPointer(start: data, count: length))
    }

    /// Runs `body` holding the array's lock.
    public func withLock<T>(_ body: (LockAcquisition) throws -> T) throws -> T { try withObjectLock(self, body) }
}

/// Raw bytes every process sees, for big data: handed to tasks without a
/// copy. A task's `shared_bytes` parameter (`TH_SHARED_BYTES`) receives a
/// view of it in place, as pointer and length, and may write into it:
///
/// ```swift
/// let big = try host.buffer("big", size: 64 << 20)
/// let sums = try pool.map("ipc.bytes_sum", big.views(8))   // 8 tasks, 8 MiB each, nothing copied
/// ```
///
/// A task may also find it by name (`th_shared_find`, `th_shared_data`).
public final class SharedBuffer: SharedObject, @unchecked Sendable {
    /// The argument of a `shared_bytes` parameter: the `length` bytes at
    /// `offset` (nil: to the end), as the view's text `NAME:OFFSET:LENGTH`.
    /// The task gets a pointer into this buffer, not a copy. A view outside
    /// the buffer is refused when the task is called (`invalidArgument`).
    public func view(offset: Int = 0, length: Int? = nil) -> Value {
        .string(length.map { "\(name):\(offset):\($0)" } ?? "\(name):\(offset)")
    }

    /// The buffer cut into `parts` views of equal length (the last one
    /// takes the remainder), as arguments for a `shared_bytes` parameter.
    public func views(_ parts: Int) -> [Value] {
        precondition(parts > 0, "a buffer is cut into 1 or more views")
        let size = count, part = size / parts
        return (0..<parts).map { view(offset: $0 * part, length: $0 == parts - 1 ? size - $0 * part : part) }
    }

    /// Why the text of a view (`big`, `big:64M`, `big:0:64M`) names no bytes
    /// of a shared buffer of this process, or nil when it does.
    static func viewProblem(_ text: String) -> String? {
        var data: UnsafeMutableRawPointer?
        var length = 0
        var error = [CChar](repeating: 0, count: 512)
        return th__shared_resolve_view(text, &data, &length, &error, 512) == 0 ? nil : cString(error)
    }

    /// The bytes (no copy).
    public func withUnsafeMutableBytes<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) rethrows -> T {
        var length = 0
        let data = th_shared_data(handle, &length)
        return try body(UnsafeMutableRawBufferPointer(start: data, count: length))
    }

    /// The buffer's size in bytes.
    public var count: Int {
        var length = 0
        _ = th_shared_data(handle, &length)
        return length
    }
}
