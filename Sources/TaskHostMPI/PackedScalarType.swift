#if MPI
import TaskHost

/// Something generic over a `PackedScalar` type that a `ValueType` names at run time.
protocol ScalarTypeVisitor {
    associatedtype Output
    func visit<T: PackedScalar>(_ type: T.Type) -> Output
}

extension ValueType {
    /// Calls `visitor` with the Swift type this fixed-size type travels as; nil for strings, bytes, shared bytes and void.
    func open<V: ScalarTypeVisitor>(_ visitor: V) -> V.Output? {
        switch self {
        case .bool: visitor.visit(Bool.self)
        case .int32: visitor.visit(Int32.self)
        case .int64: visitor.visit(Int64.self)
        case .uint64: visitor.visit(UInt64.self)
        case .double: visitor.visit(Double.self)
        case .void, .string, .bytes, .sharedBytes: nil
        }
    }
}

/// Reinterprets raw bytes as an array of `T` (the bytes came from an array of `T` on another rank).
func unpack<T: PackedScalar>(_ bytes: [UInt8], count: Int, as type: T.Type) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: source.prefix(count * MemoryLayout<T>.stride)))
        }
        initialized = count
    }
}

/// The raw bytes of an array of `T`.
func pack<T: PackedScalar>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}

/// Runs a packed chunk on `pool`: the argument type is opened here, the result type in `PackedRunOutput`.
struct PackedRun: ScalarTypeVisitor {
    let pool: Pool
    let task: String
    let result: ValueType
    let bytes: [UInt8]
    let count: Int
    let chunksize: Int
    let deadline: Double?

    func visit<A: PackedScalar>(_ argument: A.Type) -> Result<ChunkResponse.Payload, TaskHostError>? {
        result.open(PackedRunOutput<A>(run: self, arguments: unpack(bytes, count: count, as: A.self)))
    }
}

struct PackedRunOutput<A: PackedScalar>: ScalarTypeVisitor {
    let run: PackedRun
    let arguments: [A]

    func visit<O: PackedScalar>(_ output: O.Type) -> Result<ChunkResponse.Payload, TaskHostError> {
        do {
            let results = try run.pool.map(run.task, arguments, as: O.self, chunksize: run.chunksize, deadline: run.deadline)
            return .success(.packed(bytes: pack(results.values), failures: results.failures.map { ($0.key, $0.value) }))
        } catch let error as TaskHostError {
            return .failure(error)
        } catch {
            return .failure(TaskHostError(.systemError, "\(error)"))
        }
    }
}
#endif
