import CTaskHost

/// Writing a packed job's results: raw payloads into a typed array, or
/// values straight into the caller's `[TaskResult]`.
extension PackedInput {
    /// Stores results that arrived packed: `payloads` holds the `count` rows
    /// from `start` back to back; `failed` (indices, ascending) are delivered
    /// as errors instead.
    func store(_ payloads: UnsafeRawBufferPointer, from start: Int, count: Int, failed: [IndexedResult]) {
        if resultType == .void {
            if case .results(let slots) = output { initialize(slots, start, count, failed) { _ in .void } }
            return
        }
        guard let base = payloads.baseAddress, payloads.count == count * resultWidth else { return }
        switch output {
        case .payloads(let slots):
            // Failed slots are zeroed when their error is delivered.
            let first = slots + start * resultWidth
            first.copyMemory(from: base, byteCount: payloads.count)
            if resultType == .bool {
                // Worker-written bytes: only 0 and 1 are Bools.
                let bytes = first.assumingMemoryBound(to: UInt8.self)
                for i in 0..<payloads.count where bytes[i] > 1 { bytes[i] = 1 }
            }
        case .results(let slots):
            let rows = count
            switch resultType {
            case .bool: initialize(slots, start, rows, failed) { .bool(base.load(fromByteOffset: $0, as: UInt8.self) != 0) }
            case .int32: initialize(slots, start, rows, failed) { .int32(base.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int64: initialize(slots, start, rows, failed) { .int64(base.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .uint64: initialize(slots, start, rows, failed) { .uint64(base.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
            case .double: initialize(slots, start, rows, failed) { .double(base.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            default: break
            }
        }
    }

    /// Initializes result slots `start..<start+rows` but the failed ones with `value(position)`.
    @inline(__always)
    private func initialize(_ slots: UnsafeMutablePointer<TaskResult>, _ start: Int, _ rows: Int, _ failed: [IndexedResult],
                            _ value: (Int) -> Value) {
        var nextFailure = 0
        for position in 0..<rows {
            if nextFailure < failed.count, failed[nextFailure].index == start + position {
                nextFailure += 1
                continue
            }
            (slots + start + position).initialize(to: .success(value(position)))
        }
    }

    /// Delivers one result that came one by one (a retried item, a failure).
    func deliver(_ result: TaskResult, at index: Int) {
        switch output {
        case .payloads(let slots):
            let slot = slots + index * resultWidth
            if case .success(let value) = result, Self.store(value, as: resultType, at: slot) { return }
            slot.initializeMemory(as: UInt8.self, repeating: 0, count: resultWidth)
        case .results(let slots):
            (slots + index).initialize(to: result)
        }
    }

    /// The bytes of a type's payload (th__packed_width): 0 for void, -1 for strings and bytes.
    static func width(of type: ValueType) -> Int { Int(th__packed_width(type.rawValue)) }

    /// Whether a signature's items can travel packed (th__task_packable).
    static func isPackable(parameters: [ValueType], result: ValueType) -> Bool {
        width(of: result) >= 0 && parameters.allSatisfy { width(of: $0) > 0 }
    }

    /// Writes a value's payload when it is of `type`; false otherwise.
    @inline(__always)
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
