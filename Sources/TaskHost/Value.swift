/// The type of a task's parameter or result, as the plugin declares it.
///
/// `sharedBytes` is a parameter's only: a view of a shared buffer the task
/// receives in place (no copy). Its argument is the view's text, a
/// `.string` such as `"big:0:64M"` (`SharedBuffer.view(offset:length:)`).
public enum ValueType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case void = 0, bool, int32, int64, uint64, double, string, bytes, sharedBytes

    /// The name users see in signatures and errors: `int64`, `string`, …
    /// The value as text: `42`, `2.5`, `true`, the string itself, `2 bytes`, `void`.
    public var description: String {
        switch self {
        case .void: "void"
        case .bool: "bool"
        case .int32: "int32"
        case .int64: "int64"
        case .uint64: "uint64"
        case .double: "double"
        case .string: "string"
        case .bytes: "bytes"
        case .sharedBytes: "shared_bytes"
        }
    }
}

/// A value passed to or returned from a task.
///
/// Literals and Swift values make values: `let v: Value = 42`, `Value(2.5)`,
/// `Value("text")`, `Value([0x00, 0xff] as [UInt8])`; `Pool.map` and friends
/// also take arrays of `Int`, `Double`, `String`, … directly (`ValueConvertible`).
/// `description` is the value as text (`42`, `text`, `2 bytes`);
/// `debugDescription`, used inside arrays, quotes strings (`["a", 1]`).
public enum Value: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    case void
    case bool(Bool)
    case int32(Int32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])

    /// The value's type.
    public var type: ValueType {
        switch self {
        case .void: .void
        case .bool: .bool
        case .int32: .int32
        case .int64: .int64
        case .uint64: .uint64
        case .double: .double
        case .string: .string
        case .bytes: .bytes
        }
    }

    /// The value as text: `42`, `2.5`, `true`, the string itself, `2 bytes`, `void`.
    public var description: String {
        switch self {
        case .void: "void"
        case .bool(let v): String(v)
        case .int32(let v): String(v)
        case .int64(let v): String(v)
        case .uint64(let v): String(v)
        case .double(let v): String(v)
        case .string(let v): v
        case .bytes(let v): "\(v.count) bytes"
        }
    }

    /// As `description`, but a string is quoted and bytes show as `hex:00ff`
    /// (the CLI's JSON spelling); `print([Value])` uses this.
    public var debugDescription: String {
        switch self {
        case .string(let v): String(reflecting: v)
        case .bytes(let v): "hex:" + v.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        default: description
        }
    }
}

/// A Swift value that stands for a task argument: `Bool`, `Int`, `Int32`,
/// `Int64`, `UInt64`, `Double`, `String`, `[UInt8]` (bytes), and `Value`.
/// `Pool.map("square", Array(1...10))` takes an `[Int]` this way.
public protocol ValueConvertible: Sendable {
    /// The value this stands for.
    var taskHostValue: Value { get }
}

extension Value: ValueConvertible {
    public var taskHostValue: Value { self }
    /// The value a Swift value stands for: `Value(42)` is `.int64(42)`.
    public init<T: ValueConvertible>(_ value: T) { self = value.taskHostValue }
}
extension Bool: ValueConvertible { public var taskHostValue: Value { .bool(self) } }
extension Int: ValueConvertible { public var taskHostValue: Value { .int64(Int64(self)) } }
extension Int32: ValueConvertible { public var taskHostValue: Value { .int32(self) } }
extension Int64: ValueConvertible { public var taskHostValue: Value { .int64(self) } }
extension UInt64: ValueConvertible { public var taskHostValue: Value { .uint64(self) } }
extension Double: ValueConvertible { public var taskHostValue: Value { .double(self) } }
extension String: ValueConvertible { public var taskHostValue: Value { .string(self) } }
extension Array: ValueConvertible where Element == UInt8 { public var taskHostValue: Value { .bytes(self) } }

extension Value: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension Value {
    /// Converts the value to `type` where no information is lost; nil
    /// otherwise. This is the one conversion of the Swift API, the C API and
    /// the CLI:
    /// - integers convert to each other when the number fits (`300` is no
    ///   int32 problem, `-1` is no uint64);
    /// - an integer converts to a double only when the double holds it
    ///   exactly: `2^53 + 1` does not convert (it would round);
    /// - a string converts to bytes: `hex:00ff` as the bytes it spells (as
    ///   bytes results print), any other text as its UTF-8; a `hex:` string
    ///   that is not whole hex pairs does not convert;
    /// - a string stays itself for `sharedBytes` (the text of a view of a
    ///   shared buffer, which `TaskInfo.checkArguments` checks).
    public func converted(to type: ValueType) -> Value? {
        if self.type == type { return self }
        switch (self, type) {
        case (.int64(let v), .int32): return Int32(exactly: v).map(Value.int32)
        case (.int64(let v), .uint64): return UInt64(exactly: v).map(Value.uint64)
        case (.int64(let v), .double): return Double(exactly: v).map(Value.double)
        case (.int32(let v), .int64): return .int64(Int64(v))
        case (.int32(let v), .double): return .double(Double(v))
        case (.int32(let v), .uint64): return UInt64(exactly: v).map(Value.uint64)
        case (.uint64(let v), .int64): return Int64(exactly: v).map(Value.int64)
        case (.uint64(let v), .int32): return Int32(exactly: v).map(Value.int32)
        case (.uint64(let v), .double): return Double(exactly: v).map(Value.double)
        case (.string(let v), .bytes): return Value.parse(v, as: .bytes)
        case (.string, .sharedBytes): return self  // a view's text, checked by TaskInfo.checkArguments
        default: return nil
        }
    }

    /// Parses command-line text as a value of `type`: `42`, `-5`, `2.5`
    /// (an integer for a double only when exact), `true`/`false` (also
    /// `yes`/`no`, `1`/`0`), any text for a string, text or `hex:00ff`
    /// for bytes, and a view's text (`big:0:64M`) for shared bytes.
    public static func parse(_ text: String, as type: ValueType) -> Value? {
        switch type {
        case .void: return nil
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: return nil
            }
        case .int32: return Int32(text).map(Value.int32)
        case .int64: return Int64(text).map(Value.int64)
        case .uint64: return UInt64(text).map(Value.uint64)
        case .double:
            // An integer must be exact, as everywhere an int64 becomes a double.
            if let integer = Int64(text) { return Value.int64(integer).converted(to: .double) }
            guard let v = Double(text) else { return nil }
            return .double(v)
        case .string: return .string(text)
        case .bytes:
            if text.hasPrefix("hex:") { return hexBytes(text.dropFirst(4)).map(Value.bytes) }
            return .bytes(Array(text.utf8))
        case .sharedBytes: return .string(text)  // a view's text, checked by TaskInfo.checkArguments
        }
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let v = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(v)
            i += 2
        }
        return bytes
    }
}

/// One item's outcome: its value, or the error that failed it.
///
/// `try result.get()` throws the `TaskHostError` (typed), and
/// `print(result)` shows the value or the error (`1`, or
/// `crashed: worker 4242 was killed by SIGSEGV …`).
public typealias TaskResult = Result<Value, TaskHostError>

/// Readable results: `print(squares)` shows `[1, 4, 9]`, not
/// `[Swift.Result<TaskHost.Value, TaskHost.TaskHostError>.success(1), …]`.
/// (Retroactive: `Result` has no description of its own to clash with, and
/// this one applies only to TaskHost's own results.)
extension Result: @retroactive CustomStringConvertible, @retroactive CustomDebugStringConvertible
    where Success == Value, Failure == TaskHostError
{
    public var description: String {
        switch self {
        case .success(let value): value.description
        case .failure(let error): error.description
        }
    }

    public var debugDescription: String {
        switch self {
        case .success(let value): value.debugDescription
        case .failure(let error): "<\(error.description)>"
        }
    }
}
