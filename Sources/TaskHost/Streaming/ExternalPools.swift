import Foundation

// What a pool implemented outside this module (TaskHostMPI's ClusterPool)
// needs to offer the same streaming API as `Pool`: a `ResultStream` it feeds,
// and the consumer's end of a `ChannelSource`.

/// The producing end of a `ResultStream`: results delivered here come out of
/// `stream` in input order (or as delivered, when not `ordered`), with
/// `Pool.imap`'s bounded backlog.
public final class ResultFeed: Sendable {
    /// The stream the consumer reads.
    public let stream: ResultStream
    private let buffer: ResultBuffer

    /// - Parameters:
    ///   - ordered: hand results out in input order (indices from 0, each once).
    ///   - capacity: results that may wait for the consumer before `hasRoom()` says no.
    ///   - onRoom: called (on the consumer's thread) when the consumer has made room after `hasRoom()` said no.
    ///   - onCancel: called once when the stream is cancelled or dropped.
    public init(ordered: Bool, capacity: Int, onRoom: @escaping @Sendable () -> Void,
                onCancel: @escaping @Sendable () -> Void) {
        buffer = ResultBuffer(ordered: ordered, capacity: capacity)
        buffer.onRoom = onRoom
        stream = ResultStream(buffer: buffer, cancel: onCancel)
    }

    /// Can the consumer take more? (When not, `onRoom` will say so later.)
    public func hasRoom() -> Bool { buffer.hasRoom() }

    /// Results that arrived, each index once.
    public func deliver(_ results: [IndexedResult]) { buffer.deliverBatch(results) }

    /// No more results will come: the stream ends once they are read.
    public func finish() { buffer.finish() }
}

extension ChannelSource {
    /// What `take()` found.
    public enum Taken {
        /// The next item, or the error its input line failed with.
        case item(Result<[Value], TaskHostError>)
        /// Nothing yet; the `whenAvailable` callback fires when something comes.
        case pending
        /// The producer closed the channel (or it was cancelled) and every item was taken.
        case end
    }

    /// Consumer: the next item without waiting.
    public func take() -> Taken {
        switch next() {
        case .item(let arguments): return .item(.success(arguments))
        case .single(let value): return .item(.success([value]))
        case .invalid(let error): return .item(.failure(error))
        case .pending: return .pending
        case .end: return .end
        }
    }

    /// Consumer: called when items (or the end) arrive after `take()` returned `.pending`.
    public func whenAvailable(_ wake: @escaping @Sendable () -> Void) { onAvailable = wake }
}

extension TaskInfo {
    /// How errors name one call of this task: `square.square(3)`, strings quoted and cut at 60 characters.
    public func describeCall(_ arguments: [Value]) -> String {
        describe(self, ItemRun(index: 0, arguments: Arguments(arguments), attempts: 1))
    }
}
