import Foundation

/// A Swift type that stands for one of the fixed-size task types, so arrays
/// of it can travel to the workers packed: raw bytes per chunk, not one
/// `Value` per item. `Bool` is bool, `Int32` int32, `Int64` and `Int` int64,
/// `UInt64` uint64, `Double` double.
public protocol PackedScalar: BitwiseCopyable, Sendable {
    /// The task type it stands for.
    static var valueType: ValueType { get }
}

extension Bool: PackedScalar { public static var valueType: ValueType { .bool } }
extension Int32: PackedScalar { public static var valueType: ValueType { .int32 } }
extension Int64: PackedScalar { public static var valueType: ValueType { .int64 } }
extension UInt64: PackedScalar { public static var valueType: ValueType { .uint64 } }
extension Double: PackedScalar { public static var valueType: ValueType { .double } }
extension Int: PackedScalar {
    public static var valueType: ValueType {
        precondition(MemoryLayout<Int>.size == 8, "Int stands for int64 only where it is 64 bits wide")
        return .int64
    }
}

/// The results of a packed map: every item's value in input order, and the
/// errors of the items that failed (their slot in `values` holds zero).
public struct PackedResults<Output: PackedScalar>: RandomAccessCollection, Sendable {
    /// One value per item, in input order; zero where the item failed.
    public let values: [Output]
    /// The failed items' errors, by position in the input.
    public let failures: [Int: TaskHostError]

    /// One value per item (zero where it failed) and the failures by position.
    public init(values: [Output], failures: [Int: TaskHostError]) {
        self.values = values
        self.failures = failures
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }

    /// Item `position`'s result.
    public subscript(position: Int) -> Result<Output, TaskHostError> {
        failures[position].map { .failure($0) } ?? .success(values[position])
    }

    /// Every value, or the error of the first item (in input order) that failed.
    public func get() throws -> [Output] {
        if let first = failures.keys.min(), let error = failures[first] { throw error }
        return values
    }
}

extension Pool {
    /// Runs a one-parameter task over a typed array, packed: chunks travel
    /// as raw bytes and results land straight in the returned array. The
    /// fastest way to run many tiny tasks; failures stay per item, exactly
    /// as with `map(_:_:)`.
    ///
    ///     let squares = try pool.map("square.square", Array(1...1_000_000), as: Int64.self).get()
    ///
    /// Throws `invalidArgument` when the task's signature is not
    /// `(Argument) -> Output`. With no `chunksize`, Python's rule capped at
    /// 65,536 items per chunk.
    public func map<Argument: PackedScalar, Output: PackedScalar>(
        _ task: some TaskReference, _ arguments: [Argument], as output: Output.Type, chunksize: Int? = nil,
        deadline: Double? = nil
    ) throws -> PackedResults<Output> {
        let info = try packedTask(task, parameters: [Argument.valueType], result: Output.valueType)
        return try arguments.withUnsafeBytes { column in
            try runPacked(info, columns: [column.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!], count: arguments.count,
                          chunksize: chunksize, deadline: deadline)
        }
    }

    /// Runs a task over columns of typed arrays, one per parameter, all of
    /// the same length (item i is `(first[i], second[i], …)`), packed as `map`.
    ///
    ///     let sums = try pool.starmap("mathx.add", xs, ys, as: Int64.self)
    public func starmap<each Argument: PackedScalar, Output: PackedScalar>(
        _ task: some TaskReference, _ columns: repeat [each Argument], as output: Output.Type, chunksize: Int? = nil,
        deadline: Double? = nil
    ) throws -> PackedResults<Output> {
        var types: [ValueType] = []
        var counts: [Int] = []
        for column in repeat each columns {
            types.append(Self.valueType(of: column))
            counts.append(column.count)
        }
        let info = try packedTask(task, parameters: types, result: Output.valueType)
        let count = counts.first ?? 0
        guard counts.allSatisfy({ $0 == count }) else {
            throw TaskHostError(.invalidArgument, "\(info.qualifiedName): the argument columns differ in length (\(counts.map(String.init).joined(separator: ", ")))")
        }
        // Copies, so every column stays put while the workers read it.
        var copies: [UnsafeMutableRawBufferPointer] = []
        defer { for copy in copies { copy.deallocate() } }
        for column in repeat each columns {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, column.count * Self.stride(of: column)), alignment: 16)
            column.withUnsafeBytes { bytes in if let base = bytes.baseAddress { copy.baseAddress!.copyMemory(from: base, byteCount: bytes.count) } }
            copies.append(copy)
        }
        return try runPacked(info, columns: copies.map { UnsafeRawPointer($0.baseAddress!) }, count: count,
                             chunksize: chunksize, deadline: deadline)
    }

    private static func valueType<T: PackedScalar>(of _: [T]) -> ValueType { T.valueType }
    private static func stride<T: PackedScalar>(of _: [T]) -> Int { MemoryLayout<T>.stride }

    /// The task, checked to take exactly `parameters` and return `result`.
    private func packedTask(_ task: some TaskReference, parameters: [ValueType], result: ValueType) throws -> TaskInfo {
        let info = try task.resolve(in: host)
        let declared = info.parameters.map(\.type)
        guard declared == parameters else {
            throw TaskHostError(.invalidArgument,
                "\(info.qualifiedName) takes (\(declared.map(\.description).joined(separator: ", "))), not (\(parameters.map(\.description).joined(separator: ", ")))")
        }
        guard info.result == result else {
            throw TaskHostError(.invalidArgument, "\(info.qualifiedName) returns \(info.result), not \(result)")
        }
        return info
    }

    /// Runs a packed job to its end and gathers its results.
    private func runPacked<Output: PackedScalar>(_ info: TaskInfo, columns: [UnsafeRawPointer], count: Int, chunksize: Int?,
                                                 deadline: Double?) throws -> PackedResults<Output> {
        let size = try packedChunksize(chunksize, count: count)
        guard count > 0 else { return PackedResults(values: [], failures: [:]) }
        var failures: [Int: TaskHostError] = [:]
        let values = [Output](unsafeUninitializedCapacity: count) { buffer, initialized in
            failures = runPackedJob(info, columns: columns, count: count, output: UnsafeMutableRawBufferPointer(buffer),
                                    chunksize: size, deadline: deadline)
            initialized = count
        }
        return PackedResults(values: values, failures: failures)
    }

    private func packedChunksize(_ chunksize: Int?, count: Int) throws -> Int {
        if let chunksize, chunksize < 1 { throw TaskHostError(.invalidArgument, "chunksize must be at least 1, got \(chunksize)") }
        return chunksize ?? min(defaultChunksize(for: count), 65_536)
    }

    /// Runs `count` rows of `columns` through `info`, results into `output`
    /// (`count` payloads); returns the failures. Every slot of `output` is
    /// written exactly once: by a packed frame, a retried item's value, or
    /// zero for a failed item.
    private func runPackedJob(_ info: TaskInfo, columns: [UnsafeRawPointer], count: Int, output: UnsafeMutableRawBufferPointer,
                              chunksize: Int, deadline: Double?) -> [Int: TaskHostError] {
        let failures = FailureCollector()
        runPackedJob(PackedInput(task: info, rows: .columns(columns), count: count, output: .payloads(output.baseAddress!)),
                     chunksize: chunksize, deadline: deadline, prefault: output) { index, result in
            if case .failure(let error) = result { failures.errors[index] = error }
        }
        return failures.errors
    }

    /// Runs a packed job to its end; `failed` sees each failure after it is stored.
    /// While it runs, this thread faults in `prefault`'s pages, the result
    /// array's, ahead of the supervisor thread writing them (`ResultPrefault`).
    private func runPackedJob(_ input: PackedInput, chunksize: Int, deadline: Double?, prefault: UnsafeMutableRawBufferPointer,
                              failed: @escaping (Int, TaskResult) -> Void = { _, _ in }) {
        let done = DispatchSemaphore(value: 0)
        let job = Job(task: input.task, chunksize: chunksize, source: nil, packed: input, deadline: absoluteDeadline(deadline),
                      deliver: { index, result in
                          input.deliver(result, at: index)
                          failed(index, result)
                      }, finished: { done.signal() })
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.submit(job, to: core) }
        ResultPrefault.populate(prefault)
        done.wait()
    }

    /// Runs a map or starmap of values packed whenever the task's signature
    /// is fixed-size (nil otherwise: the values go one by one). The rows are
    /// read once, on the supervisor thread, packed as they are sent; a value
    /// of another type is converted as the one-by-one path converts it, and
    /// a row that doesn't convert fails alone with that path's error. Results
    /// are written straight into the returned array.
    func packedValues(_ info: TaskInfo, rows: PackedInput.Rows, count: Int, chunksize: Int?,
                      deadline: Double?) throws -> [TaskResult]? {
        guard count > 0, PackedInput.isPackable(parameters: info.parameters.map(\.type), result: info.result) else {
            return nil
        }
        let size = try packedChunksize(chunksize, count: count)
        return [TaskResult](unsafeUninitializedCapacity: count) { buffer, initialized in
            runPackedJob(PackedInput(task: info, rows: rows, count: count, output: .results(buffer.baseAddress!)),
                         chunksize: size, deadline: deadline, prefault: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

/// A packed job's failures, written on the supervisor thread, read after it ends.
// @unchecked Sendable: written on the supervisor thread only, read after the job's semaphore (which orders the two).
final class FailureCollector: @unchecked Sendable {
    var errors: [Int: TaskHostError] = [:]
}

