import CTaskHost

/// A frame being built with the C codec (th_wire.h): the only encoder.
final class FrameBuilder {
    private(set) var raw = th__buf()
    private var start = 0

    init() { th__buf_init(&raw) }
    deinit { th__buf_free(&raw) }

    /// Lets a C message writer (`th__msg_*_put`, th_protocol.h) append to this frame's buffer.
    func withBuffer(_ body: (UnsafeMutablePointer<th__buf>) -> Void) { body(&raw) }
    var failed: Bool { raw.failed != 0 }

    func begin(_ type: Int) { start = th__frame_begin(&raw, UInt8(type)) }
    func end() { th__frame_end(&raw, start) }
    func clear() { th__buf_clear(&raw) }
    func putU8(_ v: UInt8) { th__buf_put_u8(&raw, v) }
    func putU32(_ v: UInt32) { th__buf_put_u32(&raw, v) }
    func putU64(_ v: UInt64) { th__buf_put_u64(&raw, v) }
    func putString(_ s: String) { s.withCString { th__buf_put_str(&raw, $0) } }
    func putBytes(_ bytes: UnsafeRawBufferPointer) { th__buf_put(&raw, bytes.baseAddress, bytes.count) }

    /// Begins a chunk request (`TH_MSG_RUN` or `TH_MSG_RUN_PACKED`) for `count` items of `task`.
    func beginChunk(_ type: Int, of task: TaskInfo, count: Int) {
        var header = th__msg_run(plugin: task.pluginIndex, task: task.taskIndex, count: UInt32(count))
        start = th__msg_run_begin(&raw, UInt8(type), &header)
    }

    /// Appends an item's arguments, one value after another.
    func put(_ arguments: Arguments) {
        switch arguments {
        case .one(let value): put(value)
        case .many(let values): for value in values { put(value) }
        }
    }

    /// Appends a typed value.
    func put(_ value: Value) {
        var v = th__wire_value()
        v.type = value.type.rawValue
        switch value {
        case .void: break
        case .bool(let b): v.u.b = b
        case .int32(let i): v.u.i32 = i
        case .int64(let i): v.u.i64 = i
        case .uint64(let i): v.u.u64 = i
        case .double(let d): v.u.f64 = d
        case .string(var s):
            s.withUTF8 { bytes in
                v.u.bytes.data = bytes.baseAddress
                v.u.bytes.length = UInt32(bytes.count)
                th__put_value(&raw, &v)
            }
            return
        case .bytes(let array):
            array.withUnsafeBufferPointer { bytes in
                v.u.bytes.data = bytes.baseAddress
                v.u.bytes.length = UInt32(bytes.count)
                th__put_value(&raw, &v)
            }
            return
        }
        th__put_value(&raw, &v)
    }

    /// The bytes built so far.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw.data, count: raw.length) }
}

/// Reads a frame body with the C codec's bounded reader.
struct FrameReader {
    var raw = th__reader()

    init(_ body: UnsafeRawBufferPointer) { th__reader_init(&raw, body.baseAddress, body.count) }

    var failed: Bool { raw.failed != 0 }
    var remaining: Int { raw.length - raw.position }
    mutating func u8() -> UInt8 { th__get_u8(&raw) }
    mutating func u32() -> UInt32 { th__get_u32(&raw) }
    mutating func u64() -> UInt64 { th__get_u64(&raw) }
    /// Moves past `count` bytes (the reader fails if fewer remain).
    mutating func skip(_ count: Int) {
        if count > remaining { raw.failed = 1 } else { raw.position += count }
    }

    mutating func string() -> String {
        var length: UInt32 = 0
        guard let p = th__get_str(&raw, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: Int(length)), as: UTF8.self)
    }

}

extension Value {
    /// A value read by the C codec (strings and bytes are copied out of the frame); nil for an unknown type.
    init?(wire v: th__wire_value) {
        switch Int32(v.type) {
        case Int32(TH_VOID.rawValue): self = .void
        case Int32(TH_BOOL.rawValue): self = .bool(v.u.b)
        case Int32(TH_INT32.rawValue): self = .int32(v.u.i32)
        case Int32(TH_INT64.rawValue): self = .int64(v.u.i64)
        case Int32(TH_UINT64.rawValue): self = .uint64(v.u.u64)
        case Int32(TH_DOUBLE.rawValue): self = .double(v.u.f64)
        case Int32(TH_STRING.rawValue):
            let bytes = UnsafeRawBufferPointer(start: v.u.bytes.data, count: Int(v.u.bytes.length))
            self = .string(String(decoding: bytes, as: UTF8.self))
        case Int32(TH_BYTES.rawValue):
            self = .bytes(Array(UnsafeRawBufferPointer(start: v.u.bytes.data, count: Int(v.u.bytes.length))))
        default: return nil
        }
    }
}
