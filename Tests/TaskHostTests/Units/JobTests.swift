import Testing
@testable import TaskHost

/// The job's pure logic — adaptive chunk sizing, the back-pressure window,
/// scheduling — without a process.
@Suite struct JobTests {
    static let task = TaskInfo(plugin: "p", name: "t", summary: "", parameters: [Parameter(name: "x", type: .int64)],
                               result: .int64, pluginIndex: 0, taskIndex: 0)

    /// A job over `count` integers, recording what it delivers.
    final class Harness {
        var delivered: [Int] = []
        var finished = false
        var ready = true
        var job: Job!

        init(count: Int, chunksize: Int? = nil, window: Int = .max) {
            var next = 0
            let source = SingleValueSource {
                guard next < count else { return nil }
                next += 1
                return .int64(Int64(next - 1))
            }
            job = Job(task: JobTests.task, chunksize: chunksize, source: source, deadline: nil, window: window,
                      consumerReady: { [unowned self] in self.ready },
                      deliver: { [unowned self] index, _ in self.delivered.append(index) },
                      finished: { [unowned self] in self.finished = true })
        }
    }

    // MARK: Adaptive chunk sizing

    /// The chunk sizes after each finished chunk of the current size, each item taking `perItem` ns.
    static func sizes(from start: Int, perItem: UInt64, steps: Int) -> [Int] {
        let h = Harness(count: 0)
        h.job.chunksize = start
        var sizes: [Int] = []
        for _ in 0..<steps {
            h.job.chunkFinished(items: h.job.chunksize, nanoseconds: perItem * UInt64(h.job.chunksize))
            sizes.append(h.job.chunksize)
        }
        return sizes
    }

    @Test func tinyItemsGrowTheChunkFourfoldPerStepUpToTheCap() {
        // 1 µs per item: the 20 ms target is 20,000 items, reached in 4x steps.
        #expect(Self.sizes(from: 1, perItem: 1_000, steps: 9) == [4, 16, 64, 256, 1024, 4096, 16384, 20000, 20000])
        // 1 ns per item: capped at 65,536.
        #expect(Self.sizes(from: 1, perItem: 1, steps: 10).last == 65_536)
    }

    @Test func slowItemsShrinkTheChunkFourfoldPerStepDownToOne() {
        // 100 ms per item: the target is 1, reached in 4x steps.
        #expect(Self.sizes(from: 1024, perItem: 100_000_000, steps: 6) == [256, 64, 16, 4, 1, 1])
    }

    @Test func aChunkOfHalfTheTargetTimeDoublesTheSize() {
        // 10 ms per 100 items: 20 ms is 200 items.
        #expect(Self.sizes(from: 100, perItem: 100_000, steps: 1) == [200])
    }

    @Test func aGivenChunksizeNeverChanges() {
        let h = Harness(count: 0, chunksize: 7)
        h.job.chunkFinished(items: 7, nanoseconds: 7)
        #expect(h.job.chunksize == 7)
        #expect(!h.job.adaptive)
    }

    // MARK: The window

    @Test func theWindowBoundsItemsPulledAndNotDelivered() {
        let h = Harness(count: 10, window: 3)
        let first = (0..<5).compactMap { _ in h.job.pull() }
        #expect(first.map(\.index) == [0, 1, 2])
        h.job.resolve(1, .success(.int64(1)))
        #expect(h.job.pull()?.index == 3)
        #expect(h.job.pull() == nil)
        #expect(h.delivered == [1])
    }

    @Test func aConsumerWithoutRoomStopsPulling() {
        let h = Harness(count: 10)
        h.ready = false
        #expect(h.job.pull() == nil)
        h.ready = true
        #expect(h.job.pull()?.index == 0)
    }

    @Test func failUnsentFailsEverythingNotSentAndEndsTheJob() {
        let h = Harness(count: 4, window: 1)
        let sent = h.job.pull()
        #expect(sent?.index == 0)
        h.job.failUnsent(TaskHostError(.cancelled, "stop"))
        #expect(h.delivered == [1, 2, 3])
        #expect(!h.finished)
        h.job.resolve(0, .success(.int64(0)))
        #expect(h.finished)
    }

    @Test func aBadArgumentFailsOnlyItsItem() {
        var step = 0
        let source = SequenceSource(next: {
            step += 1
            return step == 1 ? [.string("x")] : step == 2 ? [.int64(2)] : nil
        })
        var failures: [Int: String] = [:]
        let job = Job(task: Self.task, chunksize: nil, source: source, deadline: nil,
                      deliver: { index, result in if case .failure(let e) = result { failures[index] = e.message } },
                      finished: {})
        #expect(job.pull()?.index == 1)
        #expect(failures[0]?.contains("int64") == true, "\(failures)")
    }

    // MARK: Scheduling

    static func pool(maxTasksPerChild: Int? = nil) -> PoolCore {
        PoolCore(config: PoolConfig(processes: 1, taskTimeout: nil, memoryLimit: nil, maxTasksPerChild: maxTasksPerChild,
                                    retries: 0, initializer: nil, taskOutput: .stderr, respawn: true))
    }

    static func indices(_ plan: ChunkPlan?) -> [Int] {
        switch plan {
        case .items(let items)?: return items.map(\.index)
        case .packed(let rows)?: return Array(rows)
        case nil: return []
        }
    }

    @Test func requeuedItemsGoFirstAndAlone() {
        let pool = Self.pool()
        let h = Harness(count: 10, chunksize: 4)
        pool.jobs = [h.job]
        h.job.requeued = [ItemRun(index: 8, arguments: .one(.int64(8))), ItemRun(index: 9, arguments: .one(.int64(9)))]
        #expect(Self.indices(pool.nextItems(tasksSent: 0)?.1) == [8])
        #expect(Self.indices(pool.nextItems(tasksSent: 0)?.1) == [9])
        #expect(Self.indices(pool.nextItems(tasksSent: 0)?.1) == [0, 1, 2, 3])
    }

    @Test func maxTasksPerChildCapsTheChunk() {
        let pool = Self.pool(maxTasksPerChild: 5)
        let h = Harness(count: 10, chunksize: 4)
        pool.jobs = [h.job]
        #expect(Self.indices(pool.nextItems(tasksSent: 3)?.1) == [0, 1])
        // At the limit, still one (the worker retires after it).
        #expect(Self.indices(pool.nextItems(tasksSent: 5)?.1) == [2])
    }

    @Test func nothingToSendIsNil() {
        let pool = Self.pool()
        let h = Harness(count: 0)
        pool.jobs = [h.job]
        #expect(pool.nextItems(tasksSent: 0) == nil)
    }
}
