import CTaskHost
import Foundation
import Testing
@testable import TaskHost

/// Every fork-server message's layout (th_protocol.h) round-trips through its
/// one _put and _get, and a frame of any size crosses the socket in pieces.
/// No process is started.
@Suite struct MessageTests {
    /// Builds a frame with `put`, checks its header says `type`, and reads its body with `get`.
    func roundTrip<M>(_ type: Int, _ empty: M, put: (UnsafeMutablePointer<th__buf>) -> Void,
                      get: (UnsafeMutablePointer<th__reader>, UnsafeMutablePointer<M>) -> Int32) -> M? {
        var buf = th__buf()
        th__buf_init(&buf)
        defer { th__buf_free(&buf) }
        put(&buf)
        var bodyLength: UInt32 = 0
        var frameType: UInt8 = 0
        guard buf.failed == 0, th__frame_header(buf.data, buf.length, &bodyLength, &frameType) == 1,
              Int(frameType) == type, Int(bodyLength) + Int(TH_FRAME_HEADER_SIZE) == buf.length else { return nil }
        var reader = th__reader()
        th__reader_init(&reader, buf.data + Int(TH_FRAME_HEADER_SIZE), Int(bodyLength))
        var message = empty
        guard get(&reader, &message) == 0, reader.position == reader.length else { return nil }
        // Every byte counts: the body cut short by one is malformed.
        var short = th__reader()
        th__reader_init(&short, buf.data + Int(TH_FRAME_HEADER_SIZE), Int(bodyLength) - 1)
        var ignored = empty
        if bodyLength > 0 && get(&short, &ignored) == 0 && short.failed == 0 { return nil }
        return message
    }

    func text(_ pointer: UnsafePointer<CChar>?, _ count: UInt32) -> String {
        String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(count)), as: UTF8.self)
    }

    @Test func settings() {
        var m = th__msg_settings(memory_limit: 512 << 20, task_output: UInt8(TH_OUTPUT_STDOUT))
        let got = roundTrip(TH_MSG_SETTINGS, th__msg_settings(), put: { th__msg_settings_put($0, &m) }, get: th__msg_settings_get)
        #expect(got?.memory_limit == 512 << 20)
        #expect(got?.task_output == UInt8(TH_OUTPUT_STDOUT))
    }

    @Test func runHeaders() {
        for type in [TH_MSG_RUN, TH_MSG_RUN_PACKED] {
            var m = th__msg_run(plugin: 7, task: 4095, count: 65536)
            let got = roundTrip(type, th__msg_run(), put: { buf in th__frame_end(buf, th__msg_run_begin(buf, UInt8(type), &m)) },
                                get: th__msg_run_get)
            #expect(got?.plugin == 7 && got?.task == 4095 && got?.count == 65536, "\(type)")
        }
    }

    @Test func load() {
        let paths = ["/a/one.so", "/b/twö.so", ""]
        var buf = th__buf()
        th__buf_init(&buf)
        defer { th__buf_free(&buf) }
        let copies = paths.map { UnsafePointer<CChar>(strdup($0)) }
        defer { for c in copies { free(UnsafeMutablePointer(mutating: c)) } }
        copies.withUnsafeBufferPointer { list in
            var m = th__msg_load(count: 3, paths: list.baseAddress)
            th__msg_load_put(&buf, &m)
        }
        var reader = th__reader()
        th__reader_init(&reader, buf.data + Int(TH_FRAME_HEADER_SIZE), buf.length - Int(TH_FRAME_HEADER_SIZE))
        var m = th__msg_load()
        #expect(th__msg_load_get(&reader, &m) == 0)
        #expect(m.count == 3)
        var read: [String] = []
        for _ in 0..<m.count {
            guard let path = th__msg_load_get_path(&reader) else { break }
            read.append(String(cString: path))
            free(path)
        }
        #expect(read == paths)
        // A count the body cannot hold is refused before anything is allocated.
        var lying = th__buf()
        th__buf_init(&lying)
        defer { th__buf_free(&lying) }
        th__buf_put_u32(&lying, 1_000_000)
        th__reader_init(&reader, lying.data, lying.length)
        #expect(th__msg_load_get(&reader, &m) == -1)
    }

    @Test func results() {
        var buf = th__buf()
        th__buf_init(&buf)
        defer { th__buf_free(&buf) }
        let start = th__msg_results_begin(&buf)
        var value = th__wire_value()
        value.type = UInt8(TH_INT64.rawValue)
        value.u.i64 = -42
        th__msg_result_put_value(&buf, &value)
        th__msg_result_put_error(&buf, "no such file")
        th__msg_results_finish(&buf, start, 2)
        var bodyLength: UInt32 = 0
        var type: UInt8 = 0
        #expect(th__frame_header(buf.data, buf.length, &bodyLength, &type) == 1 && Int(type) == TH_MSG_RESULTS)
        var reader = FrameReader(UnsafeRawBufferPointer(start: buf.data + Int(TH_FRAME_HEADER_SIZE), count: Int(bodyLength)))
        var header = th__msg_results()
        #expect(th__msg_results_get(&reader.raw, &header) == 0 && header.count == 2)
        var malformed: String?
        #expect(decodeItemResult(&reader, describeItem: { "t(1)" }, malformed: &malformed) == .success(.int64(-42)))
        let failure = decodeItemResult(&reader, describeItem: { "t(2)" }, malformed: &malformed)
        #expect(failure == .failure(TaskHostError(.taskError, "t(2): no such file", detail: "no such file")))
        #expect(reader.remaining == 0 && malformed == nil)
        // A status that is neither OK nor ERROR is malformed.
        let status: [UInt8] = [7]
        status.withUnsafeBytes { bytes in
            var bad = FrameReader(bytes)
            #expect(decodeItemResult(&bad, describeItem: { "" }, malformed: &malformed) == nil)
        }
        #expect(malformed == "sent a malformed result")
    }

    @Test func packedResults() {
        var buf = th__buf()
        var errors = th__buf()
        th__buf_init(&buf)
        th__buf_init(&errors)
        defer { th__buf_free(&buf); th__buf_free(&errors) }
        let start = th__msg_packed_results_begin(&buf)
        let payloads: [Int64] = [1, 0, 9]
        payloads.withUnsafeBytes { th__buf_put(&buf, $0.baseAddress, $0.count) }
        th__msg_packed_error_put(&errors, 1, "odd")
        th__msg_packed_results_finish(&buf, start, 3, &errors, 1)
        var reader = th__reader()
        th__reader_init(&reader, buf.data + Int(TH_FRAME_HEADER_SIZE), buf.length - Int(TH_FRAME_HEADER_SIZE))
        var header = th__msg_packed_results()
        #expect(th__msg_packed_results_get(&reader, 8, &header) == 0 && header.count == 3 && header.error_count == 1)
        #expect(Array(UnsafeBufferPointer(start: UnsafeRawPointer(header.payloads!).assumingMemoryBound(to: Int64.self), count: 3)) == payloads)
        var error = th__msg_packed_error()
        #expect(th__msg_packed_error_get(&reader, &error) == 0 && error.position == 1)
        #expect(text(error.message, error.message_length) == "odd")
        #expect(reader.position == reader.length)
        // Payloads the body doesn't hold are refused.
        th__reader_init(&reader, buf.data + Int(TH_FRAME_HEADER_SIZE), 8 + 16)
        #expect(th__msg_packed_results_get(&reader, 8, &header) == -1)
    }

    @Test func loadingCheckpoint() {
        var m = th__msg_loading(index: 44)
        #expect(roundTrip(TH_MSG_LOADING, th__msg_loading(), put: { th__msg_loading_put($0, &m) }, get: th__msg_loading_get)?.index == 44)
    }

    @Test func refusedPlugin() {
        let reason = "it exited with code 3 while loading"
        let got = reason.withCString { error in
            var m = th__msg_plugin(index: 2, loaded: 0, error: error, error_length: UInt32(reason.utf8.count))
            return roundTrip(TH_MSG_PLUGIN, th__msg_plugin(), put: { buf in th__frame_end(buf, th__msg_plugin_begin(buf, &m)) },
                             get: th__msg_plugin_get)
        }
        #expect(got?.index == 2 && got?.loaded == 0)
        #expect(got.map { text($0.error, $0.error_length) } == reason)
    }

    @Test func loadedPluginWithItsDescriptor() {
        let params = [th_param(name: strdup("x"), type: TH_INT64), th_param(name: strdup("k"), type: TH_DOUBLE)]
        defer { for p in params { free(UnsafeMutablePointer(mutating: p.name)) } }
        params.withUnsafeBufferPointer { paramList in
            var tasks = [th_task(), th_task()]
            tasks[0].name = UnsafePointer(strdup("scale")); tasks[0].summary = UnsafePointer(strdup("x times k"))
            tasks[0].result = TH_DOUBLE; tasks[0].params = paramList.baseAddress; tasks[0].param_count = 2
            tasks[1].name = UnsafePointer(strdup("nothing")); tasks[1].result = TH_VOID; tasks[1].flags = UInt32(TH_TASK_CONTEXT)
            defer { for t in tasks { free(UnsafeMutablePointer(mutating: t.name)); free(UnsafeMutablePointer(mutating: t.summary)) } }
            tasks.withUnsafeBufferPointer { taskList in
                var plugin = th_plugin()
                plugin.abi_major = UInt32(TH_ABI_MAJOR)
                plugin.size = UInt32(MemoryLayout<th_plugin>.size)
                plugin.task_size = UInt32(MemoryLayout<th_task>.size)
                plugin.task_count = 2
                plugin.tasks = taskList.baseAddress
                "mathx".withCString { name in "1.2.3".withCString { version in
                    plugin.name = name
                    plugin.version = version
                    var buf = th__buf()
                    th__buf_init(&buf)
                    defer { th__buf_free(&buf) }
                    var m = th__msg_plugin(index: 5, loaded: 1, error: nil, error_length: 0)
                    let start = th__msg_plugin_begin(&buf, &m)
                    th__msg_descriptor_put(&buf, &plugin)
                    th__frame_end(&buf, start)
                    var body = FrameReader(UnsafeRawBufferPointer(start: buf.data + Int(TH_FRAME_HEADER_SIZE),
                                                                  count: buf.length - Int(TH_FRAME_HEADER_SIZE)))
                    var got = th__msg_plugin()
                    #expect(th__msg_plugin_get(&body.raw, &got) == 0 && got.index == 5 && got.loaded == 1)
                    let info = PluginInfo.read(&body, path: "/p/mathx.so", index: 5)
                    #expect(body.remaining == 0)
                    #expect(info?.name == "mathx" && info?.version == "1.2.3" && info?.summary == "" && info?.path == "/p/mathx.so")
                    #expect(info?.tasks.map(\.signature) == ["mathx.scale(x: int64, k: double) -> double", "mathx.nothing() -> void"])
                    #expect(info?.tasks.map(\.summary) == ["x times k", ""])
                    #expect(info?.tasks.map(\.pluginIndex) == [5, 5] && info?.tasks.map(\.taskIndex) == [0, 1])
                } }
            }
        }
    }

    @Test func endOfPlugins() {
        var m = th__msg_plugins(count: 45)
        #expect(roundTrip(TH_MSG_PLUGINS, th__msg_plugins(), put: { th__msg_plugins_put($0, &m) }, get: th__msg_plugins_get)?.count == 45)
    }

    @Test func spawn() {
        let first: [UInt8] = [1, 2, 3, 0, 255]
        var buf = th__buf()
        th__buf_init(&buf)
        defer { th__buf_free(&buf) }
        var m = th__msg_spawn(request: 9, memory_limit: 1 << 30, task_output: UInt8(TH_OUTPUT_STDERR), bare: 1)
        let start = th__msg_spawn_begin(&buf, &m)
        th__buf_put_u8(&buf, 0xAB)  // stands for the sandbox's section, which lies between
        first.withUnsafeBufferPointer { th__msg_spawn_put_first(&buf, $0.baseAddress, 5) }
        th__frame_end(&buf, start)
        var bodyLength: UInt32 = 0
        var type: UInt8 = 0
        #expect(th__frame_header(buf.data, buf.length, &bodyLength, &type) == 1 && Int(type) == TH_MSG_SPAWN)
        var reader = th__reader()
        th__reader_init(&reader, buf.data + Int(TH_FRAME_HEADER_SIZE), Int(bodyLength))
        var got = th__msg_spawn()
        #expect(th__msg_spawn_get(&reader, &got) == 0)
        #expect(got.request == 9 && got.memory_limit == 1 << 30 && got.task_output == UInt8(TH_OUTPUT_STDERR) && got.bare == 1)
        #expect(th__get_u8(&reader) == 0xAB)
        var bytes: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        #expect(th__msg_spawn_get_first(&reader, &bytes, &length) == 0)
        #expect(Array(UnsafeBufferPointer(start: bytes, count: Int(length))) == first)
        #expect(reader.position == reader.length)
    }

    @Test func spawned() {
        let error = "cannot fork a worker: Resource temporarily unavailable"
        let got = error.withCString { text in
            var m = th__msg_spawned(request: 3, pid: 4242, error: text, error_length: UInt32(error.utf8.count))
            return roundTrip(TH_MSG_SPAWNED, th__msg_spawned(), put: { th__msg_spawned_put($0, &m) }, get: th__msg_spawned_get)
        }
        #expect(got?.request == 3 && got?.pid == 4242)
        #expect(got.map { text($0.error, $0.error_length) } == error)
    }

    @Test func killAndExited() {
        var kill = th__msg_kill(pid: 4242)
        #expect(roundTrip(TH_MSG_KILL, th__msg_kill(), put: { th__msg_kill_put($0, &kill) }, get: th__msg_kill_get)?.pid == 4242)
        var exited = th__msg_exited(pid: 4242, status: 0x8b)
        let got = roundTrip(TH_MSG_EXITED, th__msg_exited(), put: { th__msg_exited_put($0, &exited) }, get: th__msg_exited_get)
        #expect(got?.pid == 4242 && got?.status == 0x8b)
        #expect(th__wait_signaled(0x8b) != 0 && th__wait_signal(0x8b) == 11)
    }

    @Test func everyMessageTypeHasItsName() {
        #expect(String(cString: th__message_name(UInt8(TH_MSG_SPAWNED))) == "spawned")
        #expect(String(cString: th__message_name(UInt8(TH_MSG_PACKED_RESULTS))) == "packed results")
        #expect(String(cString: th__message_name(200)) == "unknown")
    }

    /// A 3 MB frame crosses a SOCK_SEQPACKET socket in pieces of at most
    /// TH_PIECE_MAX bytes and comes out whole, descriptors on the last piece.
    @Test func aFrameOfAnySizeTravelsInPieces() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        var size = 4 << 20
        setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(pair[1], SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let payload = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var buf = th__buf()
        th__buf_init(&buf)
        defer { th__buf_free(&buf) }
        var m = th__msg_spawn(request: 1, memory_limit: 0, task_output: 0, bare: 0)
        let start = th__msg_spawn_begin(&buf, &m)
        payload.withUnsafeBufferPointer { th__msg_spawn_put_first(&buf, $0.baseAddress, UInt32($0.count)) }
        th__frame_end(&buf, start)
        let passed = [th__eventfd()]
        defer { close(passed[0]) }
        // The reader runs beside the writer: the socket holds less than the frame.
        nonisolated(unsafe) let frame = UnsafeRawPointer(buf.data)
        let length = buf.length, socket = pair[0]
        let sender = Thread { _ = th__send_frame(socket, frame, length, passed, 1) }
        sender.start()
        var receiver = th__frame_receiver()
        #expect(th__frame_receiver_init(&receiver) == 0)
        defer { th__frame_receiver_free(&receiver) }
        var pieces = 0
        var rc: Int32 = 0
        repeat { rc = th__frame_receive(&receiver, pair[1]); pieces += 1 } while rc == 0
        #expect(rc == 1)
        let room = Int(TH_PIECE_MAX) - Int(TH_FRAME_HEADER_SIZE)
        let expectedPieces = (buf.length + room - 1) / room
        #expect(pieces == expectedPieces)
        #expect(receiver.frame_length == buf.length)
        #expect(memcmp(receiver.frame, buf.data, buf.length) == 0)
        #expect(receiver.fd_count == 1)
        if receiver.fd_count == 1 { close(receiver.fds.0) }
    }
}
