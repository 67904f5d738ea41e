#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost

/// The worker link's frame cutting over a real pipe, without a worker.
@Suite struct WorkerLinkTests {
    /// A link whose result pipe holds `bytes`.
    static func link(receiving bytes: [UInt8]) -> WorkerLink {
        var results: [Int32] = [-1, -1], requests: [Int32] = [-1, -1]
        _ = pipe(&results)
        _ = pipe(&requests)
        _ = bytes.withUnsafeBytes { write(results[1], $0.baseAddress, $0.count) }
        close(results[1])
        close(requests[0])
        let link = WorkerLink(requestFD: requests[1], resultFD: results[0])
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = link.read(using: &scratch, at: 1)
        return link
    }

    /// A frame header (th_wire.h): length, type, protocol version 1, two zero bytes.
    static func header(length: UInt32, type: UInt8 = 16, version: UInt8 = 1) -> [UInt8] {
        [UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 24), type, version, 0, 0]
    }

    @Test func aLengthOverTheCapIsAResultTooLarge() {
        let link = Self.link(receiving: Self.header(length: 600_000_000))
        defer { link.close() }
        guard case .malformed(let why) = link.peekFrame() else {
            Issue.record("expected a refused header")
            return
        }
        #expect(why == "sent a result too large (600000000 bytes; a frame holds at most 512 MiB)")
    }

    @Test func garbageIsNotAFrameHeader() {
        let link = Self.link(receiving: Self.header(length: 4, version: 77))
        defer { link.close() }
        guard case .malformed(let why) = link.peekFrame() else {
            Issue.record("expected a refused header")
            return
        }
        #expect(why == "sent malformed output (not a frame header)")
    }

    @Test func aWholeFrameIsCutAndTaken() {
        let link = Self.link(receiving: Self.header(length: 3) + [7, 8, 9] + Self.header(length: 10))
        defer { link.close() }
        guard case .frame(let type, let body) = link.peekFrame() else {
            Issue.record("expected a frame")
            return
        }
        #expect(type == 16)
        #expect(link.withFrameBody(body) { Array($0) } == [7, 8, 9])
        link.consume(body)
        guard case .incomplete(let total) = link.peekFrame() else {
            Issue.record("expected an incomplete frame")
            return
        }
        #expect(total == 18)
    }
}
