import Testing
@testable import TaskHost

/// Result ordering and the backlog of `ResultBuffer`, without a process.
@Suite struct ResultOrderingTests {
    static func result(_ index: Int) -> IndexedResult { IndexedResult(index: index, result: .success(.int64(Int64(index)))) }

    static func drain(_ buffer: ResultBuffer) -> [Int] {
        var order: [Int] = []
        while let next = buffer.tryNext() { order.append(next.index) }
        return order
    }

    @Test func orderedResultsWaitForTheirTurn() {
        let buffer = ResultBuffer(ordered: true, capacity: 100)
        buffer.deliver(2, .success(.int64(2)))
        buffer.deliver(1, .success(.int64(1)))
        #expect(Self.drain(buffer) == [])
        buffer.deliver(0, .success(.int64(0)))
        #expect(Self.drain(buffer) == [0, 1, 2])
    }

    @Test func batchesInterleaveInInputOrder() {
        let buffer = ResultBuffer(ordered: true, capacity: 100)
        buffer.deliverBatch([5, 6, 7].map(Self.result))
        buffer.deliverBatch([2, 3, 4].map(Self.result))
        buffer.deliverBatch([0, 1].map(Self.result))
        buffer.finish()
        var order: [Int] = []
        while let next = buffer.next() { order.append(next.index) }
        #expect(order == Array(0...7))
    }

    @Test func unorderedResultsComeAsTheyFinish() {
        let buffer = ResultBuffer(ordered: false, capacity: 100)
        for index in [3, 0, 2] { buffer.deliver(index, .success(.int64(Int64(index)))) }
        #expect(Self.drain(buffer) == [3, 0, 2])
    }

    @Test func theBacklogCountsResultsWaitingOutOfTurn() {
        let buffer = ResultBuffer(ordered: true, capacity: 2)
        buffer.deliver(1, .success(.int64(1)))
        #expect(buffer.hasRoom())
        buffer.deliver(2, .success(.int64(2)))
        #expect(!buffer.hasRoom())
        buffer.deliver(0, .success(.int64(0)))
        #expect(Self.drain(buffer) == [0, 1, 2])
        #expect(buffer.hasRoom())
    }

    @Test func theEndComesAfterTheLastResult() {
        let buffer = ResultBuffer(ordered: true, capacity: 10)
        buffer.deliver(0, .success(.int64(0)))
        buffer.finish()
        #expect(buffer.next()?.index == 0)
        #expect(buffer.next() == nil)
    }
}
