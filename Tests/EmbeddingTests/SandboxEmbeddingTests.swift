import Foundation
import Testing
import TestSupport

/// The sandbox from C: th_sandbox in th_pool_options, th_process_new_sandboxed,
/// TH_ERR_SANDBOX_VIOLATION (Tests/EmbeddingTests/sandbox_embedding.c).
@Suite struct SandboxEmbeddingTests {
    @Test func theSandboxThroughTheCAPI() throws {
        let program = try EmbeddingTests.compile(EmbeddingTests.root + "/Tests/EmbeddingTests/sandbox_embedding.c",
                                                 name: "sandbox_embedding")
        let folder = TestSupport.temporaryFolder("sandbox-embed")
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
        try "allowed\n".write(toFile: folder + "/allowed.txt", atomically: true, encoding: .utf8)
        let result = try TestSupport.run(program, [TestSupport.escapePlugin, folder + "/allowed.txt", folder + "/out"])
        #expect(result.stdout == """
            ok a host with the escape plugin
            ok a sandboxed pool
            ok starmap in the sandbox
            ok reading /etc/passwd fails with EACCES
            ok the allowed file is read
            ok the writable folder is written
            ok fork fails its item with sandboxViolation
            ok a sandboxed process starts
            ok it dies of SIGSYS
            ok allow_read NULL with a count is refused

            """)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(FileManager.default.contents(atPath: folder + "/out/from_c.txt") == Data("escaped\n".utf8))
    }
}
