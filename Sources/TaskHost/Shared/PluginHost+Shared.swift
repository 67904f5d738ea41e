/// Shared objects a host creates for its workers (see `SharedObject`).
///
/// ```swift
/// let host = try PluginHost()
/// let jobs = try host.queue("jobs", capacity: 1024)
/// let total = try host.value("total")
/// let pool = try Pool(host: host, processes: 2)   // its workers see both
/// ```
extension PluginHost {
    /// Creates an object from a spec, as the CLI's `--shared NAME=SPEC`:
    /// `lock`, `rlock`, `semaphore[:N]`, `bounded_semaphore[:N]`, `event`,
    /// `condition`, `barrier:N`, `queue[:CAPACITY[:ITEM_SIZE]]`,
    /// `pipe[:CAPACITY[:ITEM_SIZE]]`, `value[:TYPE[:INITIAL]]`,
    /// `array:TYPE:COUNT`, `buffer:SIZE` (sizes take K, M, G). The result is
    /// the kind's class (`SharedQueue`, `SharedLock` …).
    /// - Throws: `TaskHostError` (`invalidArgument`) for a bad name or spec,
    ///   or a name already in use.
    public func share(_ name: String, _ spec: String) throws -> SharedObject {
        try sharing.create(SharedObject.self, host: self, name: name, spec: spec)
    }

    /// The objects of a pool's or a process's `shared:` (name to spec), in
    /// name order; none is left if one fails.
    func share(scoped specs: [String: String]) throws -> [String: SharedObject] {
        var made: [String: SharedObject] = [:]
        for (name, spec) in specs.sorted(by: { $0.key < $1.key }) { made[name] = try share(name, spec) }
        return made
    }

    /// A lock only its holder releases (`reentrant`: an `rlock`).
    public func lock(_ name: String, reentrant: Bool = false) throws -> SharedLock {
        try sharing.create(SharedLock.self, host: self, name: name, spec: reentrant ? "rlock" : "lock")
    }

    /// A semaphore of `value` units (`bounded`: never released above it).
    public func semaphore(_ name: String, value: Int = 1, bounded: Bool = false) throws -> SharedSemaphore {
        try sharing.create(SharedSemaphore.self, host: self, name: name,
                           spec: "\(bounded ? "bounded_semaphore" : "semaphore"):\(value)")
    }

    /// An event, initially clear.
    public func event(_ name: String) throws -> SharedEvent {
        try sharing.create(SharedEvent.self, host: self, name: name, spec: "event")
    }

    /// A condition with its own lock.
    public func condition(_ name: String) throws -> SharedCondition {
        try sharing.create(SharedCondition.self, host: self, name: name, spec: "condition")
    }

    /// A barrier for `parties` parties.
    public func barrier(_ name: String, parties: Int) throws -> SharedBarrier {
        try sharing.create(SharedBarrier.self, host: self, name: name, spec: "barrier:\(parties)")
    }

    /// A queue of up to `capacity` items of up to `itemSize` bytes each.
    public func queue(_ name: String, capacity: Int = 1024, itemSize: Int = 256) throws -> SharedQueue {
        try sharing.create(SharedQueue.self, host: self, name: name, spec: "queue:\(capacity):\(itemSize)")
    }

    /// A duplex pipe holding up to `capacity` items each way.
    public func pipe(_ name: String, capacity: Int = 64, itemSize: Int = 256) throws -> SharedPipe {
        try sharing.create(SharedPipe.self, host: self, name: name, spec: "pipe:\(capacity):\(itemSize)")
    }

    /// An int64 value.
    public func value(_ name: String, _ initial: Int64 = 0) throws -> SharedValue {
        try sharing.create(SharedValue.self, host: self, name: name, spec: "value:int64:\(initial)")
    }

    /// A uint64 value.
    public func value(_ name: String, _ initial: UInt64) throws -> SharedValue {
        try sharing.create(SharedValue.self, host: self, name: name, spec: "value:uint64:\(initial)")
    }

    /// A double value.
    public func value(_ name: String, _ initial: Double) throws -> SharedValue {
        try sharing.create(SharedValue.self, host: self, name: name, spec: "value:double:\(initial)")
    }

    /// An array of `count` elements of `type` (bool, int32, int64, uint64, double), zeroed.
    public func array(_ name: String, of type: ValueType, count: Int) throws -> SharedArray {
        try sharing.create(SharedArray.self, host: self, name: name, spec: "array:\(type):\(count)")
    }

    /// A buffer of `size` bytes, zeroed.
    public func buffer(_ name: String, size: Int) throws -> SharedBuffer {
        try sharing.create(SharedBuffer.self, host: self, name: name, spec: "buffer:\(size)")
    }
}
