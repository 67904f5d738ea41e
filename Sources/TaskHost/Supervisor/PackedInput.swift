import CTaskHost

/// A job's items as columns of fixed-size values (a typed map or starmap).
/// They travel packed (`TH_MSG_RUN_PACKED`): whole ranges of rows copied as
/// raw bytes, results copied straight into the caller's array. No `Value`
/// exists per item unless an item has to be retried or described.
///
/// The memory belongs to the caller, who waits until the job is done.
/// Touched only on the supervisor thread.
final class PackedInput {
    /// One column per parameter: `count` payloads of `widths[i]` bytes.
    let columns: [UnsafeRawPointer]
    let types: [ValueType]
    let widths: [Int]
    let count: Int
    /// Rows not yet sent start here.
    var nextRow = 0
    /// `count` result payloads of `resultWidth` bytes.
    let output: UnsafeMutableRawPointer
    let resultType: ValueType
    let resultWidth: Int

    init(columns: [UnsafeRawPointer], types: [ValueType], count: Int, output: UnsafeMutableRawPointer, resultType: ValueType) {
        self.columns = columns
        self.types = types
        widths = types.map(Self.width(of:))
        self.count = count
        self.output = output
        self.resultType = resultType
        resultWidth = Self.width(of: resultType)
    }

    var remaining: Int { count - nextRow }

    /// The most rows one request carries: 64 MiB of columns, far below the
    /// frame limit whatever chunk size was asked for.
    var maxRowsPerChunk: Int { max(1, (64 << 20) / max(1, widths.reduce(0, +))) }

    /// Takes the next rows to send, at most `limit` of them.
    func take(_ limit: Int) -> Range<Int> {
        let rows = nextRow..<(nextRow + min(limit, maxRowsPerChunk, remaining))
        nextRow = rows.upperBound
        return rows
    }

    /// The raw bytes of `rows` in column `column`.
    func bytes(of column: Int, rows: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: columns[column] + rows.lowerBound * widths[column], count: rows.count * widths[column])
    }

    /// Row `index` as values, for a retry on the one-by-one path and for messages.
    func arguments(at index: Int) -> Arguments {
        Arguments(types.indices.map { Self.value(of: types[$0], at: columns[$0] + index * widths[$0]) })
    }

    /// Stores results that arrived packed: `payloads` holds rows `start...` back to back.
    func store(_ payloads: UnsafeRawBufferPointer, from start: Int) {
        guard let base = payloads.baseAddress, payloads.count > 0 else { return }
        let slots = output + start * resultWidth
        slots.copyMemory(from: base, byteCount: payloads.count)
        if resultType == .bool {
            // Worker-written bytes: only 0 and 1 are Bools.
            let bytes = slots.assumingMemoryBound(to: UInt8.self)
            for i in 0..<payloads.count where bytes[i] > 1 { bytes[i] = 1 }
        }
    }

    /// Zeroes the slot of an item that failed.
    func storeZero(at index: Int) {
        (output + index * resultWidth).initializeMemory(as: UInt8.self, repeating: 0, count: resultWidth)
    }

    /// Stores one result that came back as a value (a retried item).
    func store(_ value: Value, at index: Int) {
        if !Self.store(value, as: resultType, at: output + index * resultWidth) { storeZero(at: index) }
    }

    /// The bytes of a type's payload (th__packed_width): 0 for void, -1 for strings and bytes.
    static func width(of type: ValueType) -> Int { Int(th__packed_width(type.rawValue)) }

    /// Whether a signature's items can travel packed (th__task_packable).
    static func isPackable(parameters: [ValueType], result: ValueType) -> Bool {
        width(of: result) >= 0 && parameters.allSatisfy { width(of: $0) > 0 }
    }

    /// Writes a value's payload when it is of `type`; false otherwise.
    static func store(_ value: Value, as type: ValueType, at slot: UnsafeMutableRawPointer) -> Bool {
        switch (type, value) {
        case (.bool, .bool(let v)): slot.storeBytes(of: v ? 1 : 0, as: UInt8.self)
        case (.int32, .int32(let v)): slot.storeBytes(of: v, as: Int32.self)
        case (.int64, .int64(let v)): slot.storeBytes(of: v, as: Int64.self)
        case (.uint64, .uint64(let v)): slot.storeBytes(of: v, as: UInt64.self)
        case (.double, .double(let v)): slot.storeBytes(of: v, as: Double.self)
        default: return false
        }
        return true
    }

    /// The value of `type` whose payload is at `pointer`.
    static func value(of type: ValueType, at pointer: UnsafeRawPointer) -> Value {
        switch type {
        case .bool: return .bool(pointer.load(as: UInt8.self) != 0)
        case .int32: return .int32(pointer.loadUnaligned(as: Int32.self))
        case .int64: return .int64(pointer.loadUnaligned(as: Int64.self))
        case .uint64: return .uint64(pointer.loadUnaligned(as: UInt64.self))
        case .double: return .double(pointer.loadUnaligned(as: Double.self))
        default: return .void
        }
    }
}
