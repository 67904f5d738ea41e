#if canImport(Glibc)
import Glibc
#endif
import CTaskHostAPI

extension Value {
    /// A caller's argument as a Value (strings and bytes copied).
    init(c value: th_value, position: Int) throws {
        func bad(_ why: String) -> TaskHostError { TaskHostError(.invalidArgument, "argument \(position): \(why)") }
        func buffer() throws -> UnsafeRawBufferPointer {
            let length = value.as.bytes.length
            guard let data = value.as.bytes.data else {
                if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
                throw bad("data is NULL with length \(length)")
            }
            return UnsafeRawBufferPointer(start: data, count: length)
        }
        switch value.type {
        case TH_BOOL: self = .bool(value.as.b)
        case TH_INT32: self = .int32(value.as.i32)
        case TH_INT64: self = .int64(value.as.i64)
        case TH_UINT64: self = .uint64(value.as.u64)
        case TH_DOUBLE: self = .double(value.as.f64)
        case TH_STRING:
            guard value.as.bytes.data != nil else { throw bad("the string is NULL") }
            guard let text = String(validating: try buffer(), as: UTF8.self) else { throw bad("the string is not valid UTF-8") }
            self = .string(text)
        case TH_BYTES: self = .bytes(Array(try buffer()))
        case TH_VOID: throw bad("a value of type TH_VOID can't be passed")
        default: throw bad("unknown value type \(value.type.rawValue)")
        }
    }

    /// `count` caller values as Values.
    static func fromC(_ values: UnsafePointer<th_value>?, count: Int) throws -> [Value] {
        guard count > 0 else { return [] }
        guard let values else { throw nullArgument("args (with \(count) values)") }
        return try (0..<count).map { try Value(c: values[$0], position: $0) }
    }
}

/// What a `th_results *` points at: one th_value or one error per item, with
/// the strings and bytes of the values in one block it owns.
final class ResultsBox {
    let count: Int
    let values: UnsafeMutablePointer<th_value>
    let errors: [ErrorBox?]
    let errorCount: Int
    private let storage: UnsafeMutableRawPointer?

    init(_ results: [TaskResult]) {
        count = results.count
        values = .allocate(capacity: max(1, count))
        // One block for every string and bytes result (strings get a NUL).
        var bytes = 0
        for case .success(let value) in results {
            switch value {
            case .string(let text): bytes += text.utf8.count + 1
            case .bytes(let data): bytes += data.count
            default: break
            }
        }
        storage = bytes > 0 ? malloc(bytes) : nil
        var cursor = storage
        func copy(_ source: UnsafeRawBufferPointer, terminate: Bool) -> UnsafeRawPointer? {
            guard let start = cursor else { return nil }
            if let base = source.baseAddress { start.copyMemory(from: base, byteCount: source.count) }
            if terminate { start.storeBytes(of: 0, toByteOffset: source.count, as: UInt8.self) }
            cursor = start + source.count + (terminate ? 1 : 0)
            return UnsafeRawPointer(start)
        }
        var errors: [ErrorBox?] = []
        errors.reserveCapacity(count)
        var failed = 0
        for (i, result) in results.enumerated() {
            var v = th_value()
            switch result {
            case .failure(let error):
                errors.append(ErrorBox(error))
                failed += 1
                v.type = TH_VOID
            case .success(let value):
                errors.append(nil)
                switch value {
                case .void: v.type = TH_VOID
                case .bool(let b): v.type = TH_BOOL; v.as.b = b
                case .int32(let n): v.type = TH_INT32; v.as.i32 = n
                case .int64(let n): v.type = TH_INT64; v.as.i64 = n
                case .uint64(let n): v.type = TH_UINT64; v.as.u64 = n
                case .double(let d): v.type = TH_DOUBLE; v.as.f64 = d
                case .string(var text):
                    v.type = TH_STRING
                    text.withUTF8 { utf8 in
                        v.as.bytes.data = copy(UnsafeRawBufferPointer(utf8), terminate: true)
                        v.as.bytes.length = utf8.count
                    }
                case .bytes(let data):
                    v.type = TH_BYTES
                    data.withUnsafeBytes { raw in
                        v.as.bytes.data = copy(raw, terminate: false)
                        v.as.bytes.length = raw.count
                    }
                }
            }
            (values + i).initialize(to: v)
        }
        self.errors = errors
        errorCount = failed
    }

    deinit {
        values.deinitialize(count: count)
        values.deallocate()
        free(storage)
    }

    func value(at index: Int) -> UnsafePointer<th_value>? {
        guard index >= 0, index < count, errors[index] == nil else { return nil }
        return UnsafePointer(values + index)
    }

    func error(at index: Int) -> OpaquePointer? {
        guard index >= 0, index < count, let error = errors[index] else { return nil }
        return borrowedHandle(error)
    }
}

@c(th_results_count) @usableFromInline
func th_results_count_(_ results: OpaquePointer?) -> Int {
    box(results, as: ResultsBox.self)?.count ?? 0
}

@c(th_results_value) @usableFromInline
func th_results_value_(_ results: OpaquePointer?, _ index: Int) -> UnsafePointer<th_value>? {
    box(results, as: ResultsBox.self)?.value(at: index)
}

@c(th_results_error) @usableFromInline
func th_results_error_(_ results: OpaquePointer?, _ index: Int) -> OpaquePointer? {
    box(results, as: ResultsBox.self)?.error(at: index)
}

@c(th_results_error_count) @usableFromInline
func th_results_error_count_(_ results: OpaquePointer?) -> Int {
    box(results, as: ResultsBox.self)?.errorCount ?? 0
}

@c(th_results_free) @usableFromInline
func th_results_free_(_ results: OpaquePointer?) {
    release(results, as: ResultsBox.self)
}
