/// The type of a task's parameter or result, as the plugin declares it.
public enum ValueType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case void = 0, bool, int32, int64, uint64, double, string, bytes

    /// The name users see in signatures and errors: `int64`, `string`, …
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
        }
    }
}

/// A value passed to or returned from a task.
public enum Value: Sendable, Hashable, CustomStringConvertible {
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
}

extension Value: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension Value {
    /// Converts the value to `type` where no information is lost (an int64
    /// literal for an int32 or double parameter, say); nil otherwise.
    public func converted(to type: ValueType) -> Value? {
        if self.type == type { return self }
        switch (self, type) {
        case (.int64(let v), .int32): return Int32(exactly: v).map(Value.int32)
        case (.int64(let v), .uint64): return UInt64(exactly: v).map(Value.uint64)
        case (.int64(let v), .double): return .double(Double(v))
        case (.int32(let v), .int64): return .int64(Int64(v))
        case (.int32(let v), .double): return .double(Double(v))
        case (.uint64(let v), .int64): return Int64(exactly: v).map(Value.int64)
        case (.string(let v), .bytes): return .bytes(Array(v.utf8))
        default: return nil
        }
    }

    /// Parses command-line text as a value of `type`: `42`, `-5`, `2.5`,
    /// `true`, any text for a string, and text or `hex:00ff` for bytes.
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
            guard let v = Double(text) else { return nil }
            return .double(v)
        case .string: return .string(text)
        case .bytes:
            if text.hasPrefix("hex:") { return hexBytes(text.dropFirst(4)).map(Value.bytes) }
            return .bytes(Array(text.utf8))
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
public typealias TaskResult = Result<Value, TaskHostError>
