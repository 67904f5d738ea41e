import Foundation
import Testing
import TaskHost
import TestSupport

/// A fork server that dies while items run (issue 11): the items it took
/// with it fail with how it ended, not as crashes of their own; a new fork
/// server starts and the work goes on.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ServerDeathTests {
    static let plugin = try! TestSupport.buildTestPlugin("serverkill/serverkill.c")

    static func failure(_ result: TaskResult) -> TaskHostError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @Test func itemsRunningWhenTheServerIsKilledNameItAndTheHostGoesOn() throws {
        let host = try PluginHost(pluginFiles: [Self.plugin])
        let firstServer = host.forkServerPID
        let pool = try Pool(host: host, processes: 3)
        defer { pool.terminate() }
        // Two long naps are running when a third worker kills the fork server.
        let naps = try pool.imap("serverkill.nap", [[.int64(3000)], [.int64(3000)]], chunksize: 1)
        Thread.sleep(forTimeInterval: 0.5)
        let killer = Self.failure(pool.applyResultForTests("serverkill.kill_server", [1]))
        var napResults: [TaskResult] = []
        for item in naps { napResults.append(item.result) }
        #expect(napResults.count == 2)
        for result in napResults {
            let error = try #require(Self.failure(result))
            #expect(error.kind == .systemError)
            #expect(error.signal == nil)
            #expect(TestSupport.matches(error.message,
                #"serverkill\.nap\(3000\) was running in worker \d+ when the fork server was killed by SIGKILL \(killed\)"#),
                "\(error.message)")
        }
        // The killer's own item does not pass for a success.
        let own = try #require(killer)
        #expect(own.kind == .systemError, "\(own.message)")
        // A new fork server, and the pool works on.
        #expect(host.forkServerPID != firstServer)
        #expect(try pool.map("square", [1, 2, 3]).map { try $0.get() } == [1, 4, 9])
        #expect(TestSupport.isRunning(host.forkServerPID))
    }

    @Test func aServerThatKeepsDyingFailsTheWorkWithOneMessage() throws {
        let host = try PluginHost(pluginFiles: [Self.plugin])
        let pool = try Pool(host: host, processes: 1)
        defer { pool.terminate() }
        let results = try pool.map("serverkill.kill_server", (1...6).map { .int64(Int64($0)) }, chunksize: 1)
        let errors = results.compactMap(Self.failure)
        #expect(errors.count == 6)
        #expect(errors.allSatisfy { $0.kind == .systemError && $0.message.contains("the fork server was killed by SIGKILL") },
                "\(errors.map(\.message))")
    }
}

extension Pool {
    /// `apply` as a result, for tests that expect it to fail.
    func applyResultForTests(_ task: String, _ arguments: [Value]) -> TaskResult {
        do { return .success(try apply(task, arguments)) } catch let error as TaskHostError { return .failure(error) }
        catch { return .failure(TaskHostError(.systemError, "\(error)")) }
    }
}
