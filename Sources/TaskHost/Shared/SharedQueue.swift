import CTaskHostShared

/// A bounded multi-producer multi-consumer queue of values shared with the
/// workers, as Python's `Queue`. An item is a `Value` of up to the queue's
/// item size (strings and bytes by their length, numbers 8 bytes or less).
/// A process that dies in the middle of a `put` or `get` never leaves a
/// half-written item visible or the queue wedged: the item it was putting
/// is dropped, the one it was taking is lost; nothing is delivered twice.
public final class SharedQueue: SharedObject, @unchecked Sendable {
    /// Puts `value`, waiting while the queue is full (nil: forever).
    /// - Throws: `SharedObjectError.timedOut`, `.tooBig`.
    public func put(_ value: Value, timeout: Double? = nil) throws {
        try putItem(self, end: 0, value, timeout)
    }

    /// Puts `value` if there is room now; false when the queue is full.
    public func tryPut(_ value: Value) throws -> Bool {
        do { try putItem(self, end: 0, value, 0) } catch SharedObjectError.timedOut { return false }
        return true
    }

    /// Takes the oldest item, waiting while the queue is empty (nil: forever).
    /// - Throws: `SharedObjectError.timedOut`.
    public func get(timeout: Double? = nil) throws -> Value {
        try getItem(self, end: 0, timeout)
    }

    /// Takes the oldest item if there is one now.
    public func tryGet() throws -> Value? {
        do { return try getItem(self, end: 0, 0) } catch SharedObjectError.timedOut { return nil }
    }

    /// The items in the queue now.
    public var count: Int { Int(th_queue_count(handle)) }
}

/// A duplex pipe, as Python's `Pipe()`: two ends, 0 and 1; what one end
/// sends the other receives. Crash-safe as `SharedQueue`.
public final class SharedPipe: SharedObject, @unchecked Sendable {
    /// Sends `value` from `end` (0 or 1) to the other end.
    public func send(_ value: Value, from end: Int, timeout: Double? = nil) throws {
        try putItem(self, end: end, value, timeout)
    }

    /// Receives at `end` (0 or 1) what the other end sent.
    public func receive(at end: Int, timeout: Double? = nil) throws -> Value {
        try getItem(self, end: end, timeout)
    }
}

/// The largest item a queue or pipe holds.
private func itemSize(_ object: SharedObject) -> Int {
    Int(object.spec.split(separator: ":").last.flatMap { Int($0) } ?? 0)
}

func putItem(_ object: SharedObject, end: Int, _ value: Value, _ timeout: Double?) throws {
    let status: Int32 = withItemBytes(value) { bytes in
        th_pipe_send(object.handle, Int32(end), UInt32(value.type.rawValue), bytes.baseAddress, bytes.count,
                     cTimeout(timeout))
    }
    if status == TH_SHARED_TOO_BIG.rawValue {
        let size = withItemBytes(value) { $0.count }
        throw SharedObjectError.tooBig(object.name, size: size, limit: itemSize(object))
    }
    try object.check(status)
}

func getItem(_ object: SharedObject, end: Int, _ timeout: Double?) throws -> Value {
    var slot = th_queue_slot()
    try object.check(object.handle.pointee.api.pointee.get_begin(object.handle, Int32(end), &slot, cTimeout(timeout)))
    defer { _ = object.handle.pointee.api.pointee.get_end(object.handle, &slot) }
    let bytes = UnsafeRawBufferPointer(start: slot.data, count: slot.length)
    return decodeItem(type: slot.type, bytes)
}

/// A value's bytes as a queue item carries them: numbers in this machine's
/// byte order at their C width, bool as one byte, strings as UTF-8.
func withItemBytes<T>(_ value: Value, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    switch value {
    case .void: return body(UnsafeRawBufferPointer(start: nil, count: 0))
    case .bool(let b): return withUnsafeBytes(of: UInt8(b ? 1 : 0)) { body($0) }
    case .int32(let v): return withUnsafeBytes(of: v) { body($0) }
    case .int64(let v): return withUnsafeBytes(of: v) { body($0) }
    case .uint64(let v): return withUnsafeBytes(of: v) { body($0) }
    case .double(let v): return withUnsafeBytes(of: v) { body($0) }
    case .string(let s): return Array(s.utf8).withUnsafeBytes { body($0) }
    case .bytes(let b): return b.withUnsafeBytes { body($0) }
    }
}

/// The value of a queue item; an item of another type number or size than
/// TaskHost's value types comes back as its bytes.
func decodeItem(type: UInt32, _ bytes: UnsafeRawBufferPointer) -> Value {
    func load<T>(_: T.Type) -> T? {
        bytes.count == MemoryLayout<T>.size ? bytes.loadUnaligned(as: T.self) : nil
    }
    switch ValueType(rawValue: UInt8(truncatingIfNeeded: type)) {
    case .void where type == 0 && bytes.isEmpty: return .void
    case .bool where bytes.count == 1: return .bool(bytes[0] != 0)
    case .int32: if let v = load(Int32.self) { return .int32(v) }
    case .int64: if let v = load(Int64.self) { return .int64(v) }
    case .uint64: if let v = load(UInt64.self) { return .uint64(v) }
    case .double: if let v = load(Double.self) { return .double(v) }
    case .string: return .string(String(decoding: bytes, as: UTF8.self))
    default: break
    }
    return .bytes(Array(bytes))
}
