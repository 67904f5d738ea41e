/// What a worker is sent: items one by one, or a range of a packed job's rows.
enum ChunkPlan {
    case items([ItemRun])
    case packed(Range<Int>)
}

/// A chunk of one job's items sent to one worker.
///
/// `@unchecked Sendable`: made on one thread (the supervisor, or a direct
/// call that hands it over with `perform`) and touched only on the
/// supervisor thread after that.
final class Chunk: @unchecked Sendable {
    let job: Job
    /// The items of a chunk of values; empty for a packed chunk.
    let items: [ItemRun]
    /// A packed chunk's rows (its items' indices) in `job.packed`.
    let packedRange: Range<Int>?
    let count: Int
    /// Items whose results have arrived (always a prefix: workers answer in order).
    var received = 0
    let sentAt: UInt64

    init(job: Job, items: [ItemRun], sentAt: UInt64) {
        self.job = job
        self.items = items
        packedRange = nil
        count = items.count
        self.sentAt = sentAt
    }

    init(job: Job, packed rows: Range<Int>, sentAt: UInt64) {
        self.job = job
        items = []
        packedRange = rows
        count = rows.count
        self.sentAt = sentAt
    }

    /// The item at `position` in the chunk (made on demand for packed rows: sent once).
    func item(at position: Int) -> ItemRun {
        guard let rows = packedRange, let packed = job.packed else { return items[position] }
        let index = rows.lowerBound + position
        return ItemRun(index: index, arguments: packed.arguments(at: index), attempts: 1)
    }

    /// The input index of the item at `position`.
    func index(at position: Int) -> Int {
        packedRange.map { $0.lowerBound + position } ?? items[position].index
    }
}
