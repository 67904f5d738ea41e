import TaskHost

/// JSON as Python's json.dumps writes it (", " and ": " separators, ASCII
/// only), and a small parser for the argument lines of `starmap`.
enum JSON {
    static func encode(_ result: TaskResult) -> String {
        switch result {
        case .success(let value): return encode(value)
        case .failure(let error): return "{\"error\": \(encode(error))}"
        }
    }

    static func encode(_ error: TaskHostError) -> String {
        var fields = ["\"kind\": \(string(error.kind.rawValue))"]
        if let signal = error.signal { fields.append("\"signal\": \(string(signal))") }
        if let code = error.code { fields.append("\"code\": \(code)") }
        if let attempts = error.attempts { fields.append("\"attempts\": \(attempts)") }
        fields.append("\"message\": \(string(error.message))")
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func encode(_ value: Value) -> String {
        switch value {
        case .void: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .uint64(let v): return String(v)
        case .double(let d): return double(d)
        case .string(let s): return string(s)
        case .bytes(let b):
            return "\"hex:" + String(unsafeUninitializedCapacity: 2 * b.count) { buffer in
                b.withUnsafeBufferPointer { writeHex($0, into: buffer) }
                return 2 * b.count
            } + "\""
        }
    }

    /// Lower-case hex digits of `input` into `output` (twice as long).
    static func writeHex(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for (i, byte) in input.enumerated() {
                output[2 * i] = digits[Int(byte >> 4)]
                output[2 * i + 1] = digits[Int(byte & 0x0F)]
            }
        }
    }

    /// Python's float repr: shortest round-trip digits, `.0` on integers.
    static func double(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return d.description
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }

    /// Parses one line holding a JSON array of scalars into values: integers
    /// become int64 (uint64 when too big), other numbers double.
    static func parseArgumentLine(_ line: String) throws -> [Value] {
        var parser = Parser(bytes: Array(line.utf8))
        parser.skipSpace()
        let values = try parser.array()
        parser.skipSpace()
        guard parser.atEnd else { throw parser.failure("unexpected text after the array") }
        return values
    }

    struct ParseError: Error { let message: String }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        var atEnd: Bool { i >= bytes.count }

        func failure(_ what: String) -> ParseError { ParseError(message: "\(what) at column \(i + 1)") }

        mutating func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }

        mutating func array() throws -> [Value] {
            guard !atEnd, bytes[i] == UInt8(ascii: "[") else { throw failure("expected a JSON array like [1, \"a\"]") }
            i += 1
            var values: [Value] = []
            skipSpace()
            if !atEnd, bytes[i] == UInt8(ascii: "]") { i += 1; return values }
            while true {
                skipSpace()
                values.append(try scalar())
                skipSpace()
                guard !atEnd else { throw failure("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return values }
                throw failure("expected ',' or ']'")
            }
        }

        mutating func scalar() throws -> Value {
            guard !atEnd else { throw failure("expected a value") }
            switch bytes[i] {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .void
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("expected a number, string, true, false or null")
            }
        }

        mutating func literal(_ word: String) throws {
            let w = Array(word.utf8)
            guard bytes.count - i >= w.count, Array(bytes[i..<i + w.count]) == w else { throw failure("bad literal") }
            i += w.count
        }

        mutating func number() throws -> Value {
            let start = i
            var isInteger = true
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isInteger = false }
                guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(c) else { break }
                i += 1
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if isInteger {
                if let v = Int64(text) { return .int64(v) }
                if let v = UInt64(text) { return .uint64(v) }
            }
            guard let d = Double(text) else { i = start; throw failure("bad number '\(text)'") }
            return .double(d)
        }

        mutating func string() throws -> String {
            i += 1
            var units: [UInt16] = []
            while true {
                guard !atEnd else { throw failure("unterminated string") }
                let c = bytes[i]
                i += 1
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    guard !atEnd else { throw failure("unterminated escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "n"): units.append(0x0A)
                    case UInt8(ascii: "t"): units.append(0x09)
                    case UInt8(ascii: "r"): units.append(0x0D)
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard bytes.count - i >= 4, let v = UInt16(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                            throw failure("bad \\u escape")
                        }
                        units.append(v)
                        i += 4
                    default: units.append(UInt16(e))
                    }
                } else if c < 0x80 {
                    units.append(UInt16(c))
                } else {
                    // Copy a UTF-8 sequence through as UTF-16.
                    var end = i
                    while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
                    units.append(contentsOf: String(decoding: bytes[(i - 1)..<end], as: UTF8.self).utf16)
                    i = end
                }
            }
            return String(decoding: units, as: UTF16.self)
        }
    }
}
