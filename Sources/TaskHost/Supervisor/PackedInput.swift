import CTaskHost

/// A job's items as rows of fixed-size values (a typed map or starmap, or a
/// map of `[Value]` whose task has a fixed-size signature). They travel
/// packed (`TH_MSG_RUN_PACKED`): whole ranges of rows as raw bytes, results
/// written straight into the caller's array. No `Value` exists per item
/// unless an item has to be retried or described.
///
/// The memory belongs to the caller, who waits until the job is done.
/// Touched only on the supervisor thread.
final class PackedInput {
    /// Where the rows come from.
    enum Rows {
        /// Typed columns, one per parameter: `count` payloads each, sent as they are.
        case columns([UnsafeRawPointer])
        /// A map's values, one per row, packed into `staging` as rows are taken.
        case values(UnsafeBufferPointer<Value>)
        /// A starmap's argument lists, one per row, packed as `values`.
        case lists(UnsafeBufferPointer<[Value]>)
    }

    /// Where the results go: every slot is written exactly once.
    enum Output {
        /// `count` raw payloads of the result type (a failed item's slot is zeroed).
        case payloads(UnsafeMutableRawPointer)
        /// `count` uninitialized results, initialized one by one.
        case results(UnsafeMutablePointer<TaskResult>)
    }

    /// What `take` gives: rows to send, or one row that can't be sent.
    enum Taken {
        case rows(Range<Int>)
        /// A row of values that don't fit the task: it fails with `error`.
        case invalid(Int, TaskHostError)
    }

    let task: TaskInfo
    let rows: Rows
    let types: [ValueType]
    let widths: [Int]
    let count: Int
    /// Rows not yet sent start here.
    var nextRow = 0
    let output: Output
    let resultType: ValueType
    let resultWidth: Int
    /// Rows of values, packed as they are taken (one column per parameter);
    /// holds the last rows taken until their request is encoded.
    private var staging: [UnsafeMutableRawPointer] = []
    private var stagingRows = 0
    /// A row found invalid while packing the rows before it: taken next.
    private var pendingInvalid: (row: Int, error: TaskHostError)?

    init(task: TaskInfo, rows: Rows, count: Int, output: Output) {
        self.task = task
        self.rows = rows
        types = task.parameters.map(\.type)
        widths = types.map(Self.width(of:))
        self.count = count
        self.output = output
        resultType = task.result
        resultWidth = Self.width(of: task.result)
        if case .columns = rows { return }
        stagingRows = max(1, min(count, Self.maxStagedRows))
        staging = widths.map { UnsafeMutableRawPointer.allocate(byteCount: max(1, stagingRows * $0), alignment: 16) }
    }

    deinit { for column in staging { column.deallocate() } }

    /// Rows packed from values per request at most: 512 KiB per int64 column.
    static let maxStagedRows = 65_536

    var remaining: Int { count - nextRow }

    /// The most rows one request carries: 64 MiB of columns, far below the
    /// frame limit whatever chunk size was asked for (for values, what the staging holds).
    var maxRowsPerChunk: Int {
        if case .columns = rows { return max(1, (64 << 20) / max(1, widths.reduce(0, +))) }
        return stagingRows
    }

    /// Takes the next rows to send, at most `limit` of them. Values are read
    /// here, once: packed into the staging columns, converted where the
    /// conversion loses nothing, as `TaskInfo.checkArguments` does; a row
    /// that doesn't convert ends the range and is taken alone as `invalid`.
    func take(_ limit: Int) -> Taken {
        if let invalid = pendingInvalid {
            pendingInvalid = nil
            nextRow = invalid.row + 1
            return .invalid(invalid.row, invalid.error)
        }
        let start = nextRow
        let end = start + min(limit, maxRowsPerChunk, remaining)
        if case .columns = rows {
            nextRow = end
            return .rows(start..<end)
        }
        var row = start
        while row < end {
            row = packExact(start..<end, from: row)
            guard row < end else { break }
            if let error = stage(row, at: row - start) {
                if row == start {
                    nextRow = row + 1
                    return .invalid(row, error)
                }
                pendingInvalid = (row, error)
                break
            }
            row += 1
        }
        nextRow = row
        return .rows(start..<row)
    }

    /// The raw bytes of `rows` in column `column`; for values, `rows` must be the last ones taken.
    func bytes(of column: Int, rows taken: Range<Int>) -> UnsafeRawBufferPointer {
        switch rows {
        case .columns(let columns):
            return UnsafeRawBufferPointer(start: columns[column] + taken.lowerBound * widths[column],
                                          count: taken.count * widths[column])
        case .values, .lists:
            return UnsafeRawBufferPointer(start: staging[column], count: taken.count * widths[column])
        }
    }

    /// Row `index` as values, for a retry on the one-by-one path and for messages.
    func arguments(at index: Int) -> Arguments {
        switch rows {
        case .columns(let columns):
            return Arguments(types.indices.map { Self.value(of: types[$0], at: columns[$0] + index * widths[$0]) })
        case .values(let values):
            return Arguments((try? task.checkArguments([values[index]]).get()) ?? [values[index]])
        case .lists(let lists):
            return Arguments((try? task.checkArguments(lists[index]).get()) ?? lists[index])
        }
    }

    /// Packs a map's values (or a starmap's rows) from `row` on while they
    /// are of the parameters' exact types, in one tight loop per type;
    /// returns the first row it left.
    private func packExact(_ rows: Range<Int>, from row: Int) -> Int {
        if case .lists(let lists) = self.rows { return packExact(lists, rows, from: row) }
        guard case .values(let values) = self.rows else { return row }
        let slots = staging[0]
        switch types[0] {
        case .bool: return pack(values, rows, from: row, into: slots, as: UInt8.self) { if case .bool(let v) = $0 { v ? 1 : 0 } else { nil } }
        case .int32: return pack(values, rows, from: row, into: slots, as: Int32.self) { if case .int32(let v) = $0 { v } else { nil } }
        case .int64: return pack(values, rows, from: row, into: slots, as: Int64.self) { if case .int64(let v) = $0 { v } else { nil } }
        case .uint64: return pack(values, rows, from: row, into: slots, as: UInt64.self) { if case .uint64(let v) = $0 { v } else { nil } }
        case .double: return pack(values, rows, from: row, into: slots, as: Double.self) { if case .double(let v) = $0 { v } else { nil } }
        default: return row
        }
    }

    /// The starmap form: rows of exactly one value of each parameter's type.
    private func packExact(_ lists: UnsafeBufferPointer<[Value]>, _ rows: Range<Int>, from row: Int) -> Int {
        let types = self.types, widths = self.widths, staging = self.staging
        var row = row
        while row < rows.upperBound {
            let position = row - rows.lowerBound
            let packed = lists[row].withUnsafeBufferPointer { list in
                guard list.count == types.count else { return false }
                for c in 0..<types.count where !Self.store(list[c], as: types[c], at: staging[c] + position * widths[c]) {
                    return false
                }
                return true
            }
            guard packed else { return row }
            row += 1
        }
        return row
    }

    @inline(__always)
    private func pack<T>(_ values: UnsafeBufferPointer<Value>, _ rows: Range<Int>, from row: Int,
                         into slots: UnsafeMutableRawPointer, as _: T.Type, _ payload: (Value) -> T?) -> Int {
        var row = row
        while row < rows.upperBound, let v = payload(values[row]) {
            slots.storeBytes(of: v, toByteOffset: (row - rows.lowerBound) * MemoryLayout<T>.stride, as: T.self)
            row += 1
        }
        return row
    }

    /// Packs row `row` of values into staging slot `position`; its error when it doesn't fit the task.
    private func stage(_ row: Int, at position: Int) -> TaskHostError? {
        switch rows {
        case .columns: return nil
        case .values(let values):
            if Self.store(values[row], as: types[0], at: staging[0] + position * widths[0]) { return nil }
            return stageConverted([values[row]], at: position)
        case .lists(let lists):
            let list = lists[row]
            if list.count == types.count,
               types.indices.allSatisfy({ Self.store(list[$0], as: types[$0], at: staging[$0] + position * widths[$0]) }) {
                return nil
            }
            return stageConverted(list, at: position)
        }
    }

    /// Packs a row whose values need converting, exactly as the one-by-one path converts them.
    private func stageConverted(_ arguments: [Value], at position: Int) -> TaskHostError? {
        switch task.checkArguments(arguments) {
        case .success(let converted):
            for c in types.indices { _ = Self.store(converted[c], as: types[c], at: staging[c] + position * widths[c]) }
            return nil
        case .failure(let error):
            return error
        }
    }
}
