import Foundation
import Testing
@testable import TaskHost
import TestSupport

/// Zero copy for big data: a task's `shared_bytes` parameter receives a view
/// of a shared buffer in place (Tests/Plugins/sharedbytes): the pointer is
/// inside the worker's own mapping of the buffer, the bytes are the host's,
/// and what the task writes the host sees.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SharedBytesTests {
    static let plugin: String = try! TestSupport.buildTestPlugin("sharedbytes/sharedbytes.c")

    func makeHost() throws -> PluginHost { try PluginHost(pluginFiles: [Self.plugin]) }

    /// FNV-1a, as the plugin's checksum task computes it.
    func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    @Test func aViewArrivesInPlaceWithTheHostsBytes() throws {
        let host = try makeHost()
        let size = 256 << 10  // small: the host's own loops over it run unoptimised in a debug build
        let big = try host.buffer("big", size: size)
        big.withUnsafeMutableBytes { bytes in for i in 0..<size { bytes[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i >> 12) } }
        let pool = try Pool(host: host, processes: 2)
        let views = big.views(4)
        #expect(views == ["big:0:65536", "big:65536:65536", "big:131072:65536", "big:196608:65536"])
        // The address each task got is inside its worker's mapping of "big", at the view's offset: no copy.
        let offsets = try pool.starmap("sharedbytes.offset_in", views.map { [$0, "big"] as [Value] }, chunksize: 1)
        #expect(try offsets.map { try $0.get() } == [0, 1 << 16, 2 << 16, 3 << 16].map { Value.int64($0) })
        let sums = try pool.map("sharedbytes.checksum", views, chunksize: 1)
        let expected = big.withUnsafeMutableBytes { bytes in
            (0..<4).map { part in Value.uint64(checksum(UnsafeRawBufferPointer(rebasing: bytes[(part << 16)..<((part + 1) << 16)]))) }
        }
        #expect(try sums.map { try $0.get() } == expected)
        // The whole buffer, and from an offset to its end.
        #expect(try pool.apply("sharedbytes.offset_in", ["big", "big"]) == 0)
        #expect(try pool.apply("sharedbytes.offset_in", [big.view(offset: 4096), "big"]) == 4096)
        #expect(try pool.apply("sharedbytes.fill", ["big:256K", 1]) == .uint64(0))
    }

    @Test func whatATaskWritesIntoAViewTheHostSees() throws {
        let host = try makeHost()
        let out = try host.buffer("out", size: 256 << 10)
        let pool = try Pool(host: host, processes: 2)
        let filled = try pool.starmap("sharedbytes.fill", [[out.view(offset: 64 << 10, length: 4096), 0xAB],
                                                           ["out:128K:1K", 0x11]])
        #expect(try filled.map { try $0.get() } == [.uint64(4096), .uint64(1024)])
        out.withUnsafeMutableBytes { bytes in
            for i in 0..<bytes.count {
                let want: UInt8 = (64 << 10 ..< (64 << 10) + 4096).contains(i) ? 0xAB
                    : ((128 << 10) ..< (128 << 10) + 1024).contains(i) ? 0x11 : 0
                if bytes[i] != want {
                    Issue.record("byte \(i) is \(bytes[i]), not \(want)")
                    return
                }
            }
        }
    }

    @Test func viewsThatNameNoBytesOfABufferAreRefusedBeforeAnythingRuns() throws {
        let host = try makeHost()
        let big = try host.buffer("big", size: 8192)
        let door = try host.lock("door")
        let pool = try Pool(host: host, processes: 1)
        let cases: [(Value, String)] = [
            ("nothing:0:1", "sharedbytes.checksum: parameter 'data': no shared buffer named 'nothing'"),
            ("door", "sharedbytes.checksum: parameter 'data': shared object 'door' is not a buffer"),
            ("big:4096:4097", "sharedbytes.checksum: parameter 'data': view 'big:4096:4097' is outside shared buffer 'big' of 8192 bytes"),
            ("big:8193", "sharedbytes.checksum: parameter 'data': view 'big:8193' is outside shared buffer 'big' of 8192 bytes"),
            ("big:-1:2", "sharedbytes.checksum: parameter 'data': 'big:-1:2' is not a view of a shared buffer (NAME, NAME:OFFSET or NAME:OFFSET:LENGTH, sizes in bytes with K, M or G)"),
            (.bytes([1, 2]), "sharedbytes.checksum: parameter 'data' expects shared_bytes, got bytes hex:0102"),
        ]
        for (argument, message) in cases {
            #expect(throws: TaskHostError(.invalidArgument, message)) { try pool.apply("sharedbytes.checksum", [argument]) }
        }
        #expect(try pool.apply("sharedbytes.checksum", [big.view(offset: 8192, length: 0)]) == .uint64(14_695_981_039_346_656_037))
        #expect(try host.task(named: "sharedbytes.fill").signature == "sharedbytes.fill(data: shared_bytes, byte: int64) -> uint64")
        withExtendedLifetime(door) {}
    }

    @Test func aWorkerStartedBeforeTheBufferFailsTheItemSayingSo() throws {
        let host = try makeHost()
        let early = try host.buffer("early", size: 4096)
        let pool = try Pool(host: host, processes: 1)
        #expect(try pool.apply("sharedbytes.fill", ["early", 1]) == .uint64(4096))
        let late = try host.buffer("late", size: 4096)  // the pool's worker started before it
        #expect(throws: TaskHostError(.taskError, "sharedbytes.checksum(\"late:0:4096\"): parameter 'data': no shared buffer named 'late'")) {
            try pool.apply("sharedbytes.checksum", [late.view(offset: 0, length: 4096)])
        }
        let fresh = try Pool(host: host, processes: 1)
        #expect(try fresh.apply("sharedbytes.fill", [late.view(), 2]) == .uint64(4096))
        late.withUnsafeMutableBytes { #expect($0.allSatisfy { $0 == 2 }) }
        withExtendedLifetime(early) {}
    }
}
