#if MPI
import CMPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

/// This process's place in `MPI_COMM_WORLD`, and the few MPI calls TaskHost
/// makes. MPI is started once per process (`MPI_Init_thread`, serialized:
/// one thread at a time calls MPI — on rank 0 the coordinator thread, on the
/// other ranks the thread that serves) and finalized when the process exits.
/// Errors come back as return codes (`MPI_ERRORS_RETURN`), never as MPI's
/// default abort of the whole job.
final class MPIWorld: @unchecked Sendable { // set up once under `lock`; then read-only
    /// This process's rank.
    let rank: Int
    /// The number of ranks.
    let size: Int
    /// The name of the machine this rank runs on (`MPI_Get_processor_name`).
    let hostName: String

    private nonisolated(unsafe) static var shared: MPIWorld?
    private static let lock = NSLock()

    /// Starts MPI (the first time) and returns this process's place in it.
    static func start() throws -> MPIWorld {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
            guard code == MPI_SUCCESS else {
                throw TaskHostError(.systemError, "MPI_Init_thread failed: \(errorString(code))")
            }
            guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
                throw TaskHostError(.systemError, "this MPI library offers thread level \(provided); TaskHost needs MPI_THREAD_SERIALIZED")
            }
            atexit { MPIWorld.finalizeAtExit() }
        }
        MPI_Comm_set_errhandler(thmpi_comm_world(), thmpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(thmpi_comm_world(), &rank)
        MPI_Comm_size(thmpi_comm_world(), &size)
        var name = [CChar](repeating: 0, count: Int(thmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        MPI_Get_processor_name(&name, &length)
        let world = MPIWorld(rank: Int(rank), size: Int(size),
                             hostName: String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        shared = world
        return world
    }

    private init(rank: Int, size: Int, hostName: String) {
        self.rank = rank
        self.size = size
        self.hostName = hostName
    }

    /// What runs before `MPI_Finalize` at exit (rank 0: tell the other ranks an open pool is over).
    nonisolated(unsafe) static var beforeFinalize: (() -> Void)?

    private static func finalizeAtExit() {
        lock.lock()
        let hook = beforeFinalize
        beforeFinalize = nil
        lock.unlock()
        hook?()
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// MPI's words for an error code.
    static func errorString(_ code: Int32) -> String {
        var text = [CChar](repeating: 0, count: Int(thmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A message that arrived: who sent it, its kind and its bytes.
struct IncomingMessage {
    var source: Int
    var tag: MessageTag
    var bytes: [UInt8]
}

/// Sends without blocking (a blocking send of a big message waits for its
/// receiver, and two ranks sending to each other would wait forever), keeps
/// each buffer until MPI is done with it, and receives whatever has arrived.
/// Used by one thread at a time.
final class MPIMailbox {
    private var inFlight: [(request: MPI_Request, buffer: UnsafeMutableRawBufferPointer)] = []

    /// Queues `bytes` for rank `destination`. Throws when MPI refuses (a lost rank).
    func send(_ bytes: [UInt8], to destination: Int, tag: MessageTag) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 8)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        var request = MPI_Request(bitPattern: 0)
        let code = MPI_Isend(buffer.baseAddress, Int32(bytes.count), thmpi_byte(), Int32(destination), tag.rawValue,
                             thmpi_comm_world(), &request)
        guard code == MPI_SUCCESS, let request else {
            buffer.deallocate()
            throw TaskHostError(.systemError, "MPI_Isend to rank \(destination) failed: \(MPIWorld.errorString(code))")
        }
        inFlight.append((request, buffer))
    }

    /// Lets MPI progress the sends under way; frees the buffers of those done.
    /// Throws when a send failed.
    func progress() throws {
        var index = 0
        var failure: Int32 = MPI_SUCCESS
        while index < inFlight.count {
            var request: MPI_Request? = inFlight[index].request
            var done: Int32 = 0
            let code = MPI_Test(&request, &done, thmpi_status_ignore())
            if code != MPI_SUCCESS { failure = code; done = 1 }
            if done != 0 {
                inFlight[index].buffer.deallocate()
                inFlight.swapAt(index, inFlight.count - 1)
                inFlight.removeLast()
            } else {
                index += 1
            }
        }
        if failure != MPI_SUCCESS {
            throw TaskHostError(.systemError, "an MPI send failed: \(MPIWorld.errorString(failure))")
        }
    }

    /// True while sends are under way.
    var sending: Bool { !inFlight.isEmpty }

    /// A message that has arrived from anyone, or nil.
    func receive() throws -> IncomingMessage? {
        var flag: Int32 = 0
        var status = MPI_Status()
        let probe = MPI_Iprobe(thmpi_any_source(), thmpi_any_tag(), thmpi_comm_world(), &flag, &status)
        guard probe == MPI_SUCCESS else {
            throw TaskHostError(.systemError, "MPI_Iprobe failed: \(MPIWorld.errorString(probe))")
        }
        guard flag != 0 else { return nil }
        var count: Int32 = 0
        MPI_Get_count(&status, thmpi_byte(), &count)
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let source = status.MPI_SOURCE, tagValue = status.MPI_TAG
        let code = bytes.withUnsafeMutableBytes {
            MPI_Recv($0.baseAddress, count, thmpi_byte(), source, tagValue, thmpi_comm_world(), thmpi_status_ignore())
        }
        guard code == MPI_SUCCESS else {
            throw TaskHostError(.systemError, "MPI_Recv from rank \(source) failed: \(MPIWorld.errorString(code))")
        }
        guard let tag = MessageTag(rawValue: tagValue) else {
            throw TaskHostError(.systemError, "rank \(source) sent a message of unknown kind \(tagValue)")
        }
        return IncomingMessage(source: Int(source), tag: tag, bytes: bytes)
    }

    /// Waits until every send under way is done (at the end of a pool), or
    /// `nanoseconds` have passed (a send to a rank that died never ends).
    func drain(within nanoseconds: UInt64 = Heartbeat.lostAfter) {
        let start = DispatchTime.now().uptimeNanoseconds
        while sending && DispatchTime.now().uptimeNanoseconds - start < nanoseconds {
            if (try? progress()) == nil { break }
            usleep(50)
        }
    }
}
#endif
