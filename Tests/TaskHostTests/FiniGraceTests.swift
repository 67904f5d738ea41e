import Foundation
import Testing
import TaskHost
import TestSupport

/// `close` + `join` end even when a plugin's fini hook never returns: a
/// worker told to quit has a bounded grace (5 s), then it is killed.
@Suite(.timeLimit(.minutes(2)))
struct FiniGraceTests {
    @Test func joinEndsWhenAFiniHookHangs() throws {
        let plugin = try TestSupport.buildTestPlugin("hangfini/hangfini.c")
        let host = try PluginHost(pluginFiles: [plugin])
        let pool = try Pool(host: host, processes: 2)
        #expect(try pool.map("hangfini.echo", [1, 2, 3]).map { try $0.get() } == [1, 2, 3])
        let started = Date()
        pool.close()
        pool.join()
        let waited = Date().timeIntervalSince(started)
        // The grace, not forever (a generous bound for a loaded machine).
        #expect(waited >= 4.5 && waited < 60, "join took \(waited) s")
        #expect(TestSupport.eventually { TestSupport.children(of: host.forkServerPID).filter(TestSupport.isRunning).isEmpty })
    }
}
