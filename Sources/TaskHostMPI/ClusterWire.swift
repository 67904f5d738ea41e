#if MPI
import TaskHost

/// The kinds of message ranks exchange (the MPI tag).
enum MessageTag: Int32 {
    /// Worker rank → rank 0 when a pool opens: its processes and host name.
    case hello = 1
    /// Rank 0 → a rank: a chunk of items to run (a `ChunkRequest`).
    case chunk = 2
    /// A rank → rank 0: a chunk's results (a `ChunkResponse`).
    case results = 3
    /// Worker rank → rank 0: what its tasks wrote to stdout, to print there.
    case output = 4
    /// Rank 0 → every rank: stop the chunks of a job (its stream was cancelled).
    case cancel = 5
    /// Rank 0 → every rank: the pool is closed; worker ranks answer with `closed`.
    case close = 6
    /// Worker rank → rank 0: it has finished its part of the pool.
    case closed = 7
    /// Worker rank → rank 0, each second it has sent nothing else: it is alive.
    case alive = 8
}

/// How often a worker rank says it is alive, and how long rank 0 waits for a
/// word from a rank holding chunks before it counts it as lost (seconds).
enum Heartbeat {
    static let interval: UInt64 = 1_000_000_000
    static let lostAfter: UInt64 = 10_000_000_000
}

/// Items of one job sent to one rank: consecutive input positions from `first`.
struct ChunkRequest: Sendable {
    var job: UInt64
    var chunk: UInt64
    var first: Int
    /// `PLUGIN.TASK`.
    var task: String
    /// Seconds left before the job's deadline, if it has one.
    var deadline: Double?
    /// Items per message to a worker on the rank (nil: its own default).
    var localChunksize: Int?
    var payload: Payload

    enum Payload: Sendable {
        /// Argument lists; an input that could not be read is its error, passed through.
        case values([Result<[Value], TaskHostError>])
        /// One column of fixed-size arguments, raw, and the task's result type.
        case packed(argument: ValueType, result: ValueType, count: Int, bytes: [UInt8])
    }

    var count: Int {
        switch payload {
        case .values(let items): items.count
        case .packed(_, _, let count, _): count
        }
    }
}

/// A chunk's results, from the rank that ran it.
struct ChunkResponse: Sendable {
    var job: UInt64
    var chunk: UInt64
    /// Nanoseconds the rank spent on the chunk (for sizing the next ones).
    var elapsed: UInt64
    var payload: Payload

    enum Payload: Sendable {
        case values([TaskResult])
        /// Raw results (zero where an item failed) and the failures by offset in the chunk.
        case packed(bytes: [UInt8], failures: [(Int, TaskHostError)])
    }
}

/// Writes the little-endian wire format ranks exchange.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func raw(_ v: [UInt8]) { int(v.count); bytes.append(contentsOf: v) }
    mutating func string(_ s: String) { raw(Array(s.utf8)) }
    mutating func optionalInt(_ v: Int?) { u8(v == nil ? 0 : 1); int(v ?? 0) }
    mutating func optionalString(_ s: String?) { u8(s == nil ? 0 : 1); string(s ?? "") }

    mutating func value(_ v: Value) {
        u8(v.type.rawValue)
        switch v {
        case .void: break
        case .bool(let b): u8(b ? 1 : 0)
        case .int32(let i): u64(UInt64(UInt32(bitPattern: i)))
        case .int64(let i): u64(UInt64(bitPattern: i))
        case .uint64(let u): u64(u)
        case .double(let d): f64(d)
        case .string(let s): string(s)
        case .bytes(let b): raw(b)
        }
    }

    mutating func error(_ e: TaskHostError) {
        string(e.kind.rawValue)
        string(e.message)
        optionalString(e.signal)
        optionalInt(e.code)
        optionalInt(e.attempts)
    }

    mutating func result(_ r: TaskResult) {
        switch r {
        case .success(let v): u8(0); value(v)
        case .failure(let e): u8(1); error(e)
        }
    }
}

/// Reads the wire format; a malformed message throws.
struct WireReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static let malformed = TaskHostError(.systemError, "a rank sent a malformed message")

    mutating func u8() throws -> UInt8 {
        guard position < bytes.count else { throw Self.malformed }
        position += 1
        return bytes[position - 1]
    }

    mutating func u64() throws -> UInt64 {
        guard position + 8 <= bytes.count else { throw Self.malformed }
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { target in
            bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + 8])) }
        }
        position += 8
        return UInt64(littleEndian: v)
    }

    mutating func int() throws -> Int { Int(Int64(bitPattern: try u64())) }
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    mutating func raw() throws -> [UInt8] {
        let n = try int()
        guard n >= 0, position + n <= bytes.count else { throw Self.malformed }
        position += n
        return Array(bytes[position - n..<position])
    }

    mutating func string() throws -> String { String(decoding: try raw(), as: UTF8.self) }
    mutating func optionalInt() throws -> Int? { let present = try u8(); let v = try int(); return present == 0 ? nil : v }
    mutating func optionalString() throws -> String? { let present = try u8(); let s = try string(); return present == 0 ? nil : s }

    mutating func value() throws -> Value {
        guard let type = ValueType(rawValue: try u8()) else { throw Self.malformed }
        switch type {
        case .void: return .void
        case .bool: return .bool(try u8() != 0)
        case .int32: return .int32(Int32(bitPattern: UInt32(truncatingIfNeeded: try u64())))
        case .int64: return .int64(Int64(bitPattern: try u64()))
        case .uint64: return .uint64(try u64())
        case .double: return .double(try f64())
        case .string: return .string(try string())
        case .bytes: return .bytes(try raw())
        case .sharedBytes: throw Self.malformed  // a parameter type only: no value is of it
        }
    }

    mutating func error() throws -> TaskHostError {
        guard let kind = TaskHostError.Kind(rawValue: try string()) else { throw Self.malformed }
        let message = try string()
        return TaskHostError(kind, message, signal: try optionalString(), code: try optionalInt(), attempts: try optionalInt())
    }

    mutating func result() throws -> TaskResult {
        try u8() == 0 ? .success(try value()) : .failure(try error())
    }
}

extension ChunkRequest {
    func encoded() -> [UInt8] {
        var w = WireWriter(capacity: 64 + count * 10)
        w.u64(job); w.u64(chunk); w.int(first); w.string(task)
        w.u8(deadline == nil ? 0 : 1); w.f64(deadline ?? 0)
        w.optionalInt(localChunksize)
        switch payload {
        case .values(let items):
            w.u8(0); w.int(items.count)
            for item in items {
                switch item {
                case .success(let arguments):
                    w.u8(0); w.int(arguments.count)
                    for v in arguments { w.value(v) }
                case .failure(let error):
                    w.u8(1); w.error(error)
                }
            }
        case .packed(let argument, let result, let count, let bytes):
            w.u8(1); w.u8(argument.rawValue); w.u8(result.rawValue); w.int(count); w.raw(bytes)
        }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes)
        job = try r.u64(); chunk = try r.u64(); first = try r.int(); task = try r.string()
        let hasDeadline = try r.u8(); let seconds = try r.f64()
        deadline = hasDeadline == 0 ? nil : seconds
        localChunksize = try r.optionalInt()
        if try r.u8() == 0 {
            let n = try r.int()
            var items: [Result<[Value], TaskHostError>] = []
            items.reserveCapacity(max(0, n))
            for _ in 0..<max(0, n) {
                if try r.u8() == 0 {
                    let m = try r.int()
                    var arguments: [Value] = []
                    for _ in 0..<max(0, m) { arguments.append(try r.value()) }
                    items.append(.success(arguments))
                } else {
                    items.append(.failure(try r.error()))
                }
            }
            payload = .values(items)
        } else {
            guard let argument = ValueType(rawValue: try r.u8()), let result = ValueType(rawValue: try r.u8()) else {
                throw WireReader.malformed
            }
            let count = try r.int()
            payload = .packed(argument: argument, result: result, count: count, bytes: try r.raw())
        }
    }
}

extension ChunkResponse {
    func encoded() -> [UInt8] {
        var w = WireWriter()
        w.u64(job); w.u64(chunk); w.u64(elapsed)
        switch payload {
        case .values(let results):
            w.u8(0); w.int(results.count)
            for r in results { w.result(r) }
        case .packed(let bytes, let failures):
            w.u8(1); w.raw(bytes); w.int(failures.count)
            for (offset, error) in failures { w.int(offset); w.error(error) }
        }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes)
        job = try r.u64(); chunk = try r.u64(); elapsed = try r.u64()
        if try r.u8() == 0 {
            let n = try r.int()
            var results: [TaskResult] = []
            results.reserveCapacity(max(0, n))
            for _ in 0..<max(0, n) { results.append(try r.result()) }
            payload = .values(results)
        } else {
            let raw = try r.raw()
            let n = try r.int()
            var failures: [(Int, TaskHostError)] = []
            for _ in 0..<max(0, n) { failures.append((try r.int(), try r.error())) }
            payload = .packed(bytes: raw, failures: failures)
        }
    }
}
#endif
