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
/// copy (`th_shared_data` gives a task the pointer and length).
public final class SharedBuffer: SharedObject, @unchecked Sendable {
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
