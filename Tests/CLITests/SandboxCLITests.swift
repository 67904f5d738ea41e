import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `--sandbox`, `--allow-read`, `--allow-write` and `filter`'s default
/// sandbox, through the CLI; a kernel without Landlock is played by
/// without_landlock.c, which makes landlock_create_ruleset fail with ENOSYS.
@Suite(.serialized) struct SandboxCLITests {
    static var escape: String { TestSupport.escapePlugin }

    static let withoutLandlock: String = {
        let output = TestSupport.temporaryFolder("without-landlock") + "/without_landlock"
        let result = try! TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra",
                                                           TestSupport.repositoryRoot + "/Tests/CLITests/without_landlock.c",
                                                           "-o", output, "-lseccomp"])
        precondition(result.status == 0, "cc failed: \(result.stderr)")
        return output
    }()

    static let pipeline = TestSupport.repositoryRoot + "/Tests/ImageFilterTests/Fixtures/pipeline"

    /// A folder holding two of the filter fixtures and a file that is not an input.
    func imageWorkspace() throws -> String {
        let folder = TestSupport.temporaryFolder("sandbox-cli")
        for name in ["image1.jpg", "image3.png"] {
            try FileManager.default.copyItem(atPath: Self.pipeline + "/" + name, toPath: folder + "/" + name)
        }
        try "not an input\n".write(toFile: folder + "/secret.txt", atomically: true, encoding: .utf8)
        return folder
    }

    /// The text with every "worker <pid>" made "worker N".
    func withoutPIDs(_ text: String) -> String {
        text.replacingOccurrences(of: "worker [0-9]+", with: "worker N", options: .regularExpression)
    }

    @Test func starmapInTheSandboxFailsEachEscapeItsOwnWay() throws {
        let folder = TestSupport.temporaryFolder("sandbox-cli")
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
        let listener = try LocalTCPListener()
        let lines = [["read", "/etc/passwd"], ["write", folder + "/outside.txt"], ["write", folder + "/out/inside.txt"],
                     ["connect", String(listener.port)], ["fork", ""], ["exec", ""], ["ptrace", ""], ["echo", "5"]]
        let input = lines.map { "[\"\($0[0])\", \"\($0[1])\"]" }.joined(separator: "\n") + "\n"
        let run = try TestSupport.taskhost(["starmap", "escape.attempt", "--plugin", Self.escape, "-p", "1", "--chunksize", "1",
                                            "--sandbox", "--allow-write", folder + "/out"], input: input)
        #expect(run.status == 1)
        func violation(_ call: String, _ action: String, _ target: String = "") -> String {
            "{\"error\": {\"kind\": \"sandboxViolation\", \"signal\": \"SIGSYS\", \"message\": \"worker N was stopped by the sandbox: it called \(call) while running escape.attempt(\\\"\(action)\\\", \\\"\(target)\\\")\"}}"
        }
        let expected = "[{\"error\": {\"kind\": \"taskError\", \"message\": \"escape.attempt(\\\"read\\\", \\\"/etc/passwd\\\"): cannot open /etc/passwd: Permission denied\"}}, "
            + "{\"error\": {\"kind\": \"taskError\", \"message\": \"escape.attempt(\\\"write\\\", \\\"\(folder)/outside.txt\\\"): cannot create \(folder)/outside.txt: Permission denied\"}}, "
            + "8, " + violation("socket", "connect", String(listener.port)) + ", " + violation("clone", "fork") + ", "
            + violation("execve", "exec") + ", " + violation("ptrace", "ptrace") + ", 5]\n"
        #expect(withoutPIDs(run.stdout) == expected)
        #expect(run.stderr.hasSuffix("taskhost: 6 of 8 items failed\n"))
        #expect(FileManager.default.contents(atPath: folder + "/out/inside.txt") == Data("escaped\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: folder + "/outside.txt"))
    }

    @Test func allowReadOpensExactlyItsPath() throws {
        let folder = try imageWorkspace()
        let secret = folder + "/secret.txt"
        let read = ["apply", "escape.attempt", "read", secret, "--plugin", Self.escape]
        #expect(try TestSupport.taskhost(read).stdout == "13\n")
        #expect(try TestSupport.taskhost(read + ["--sandbox", "--allow-read", secret]).stdout == "13\n")
        let beside = try TestSupport.taskhost(read + ["--sandbox", "--allow-read", folder + "/image1.jpg"])
        #expect(beside.status == 1)
        #expect(beside.stdout.contains("cannot open \(secret): Permission denied"))
    }

    @Test func badSandboxUsageFailsBeforeAnythingRuns() throws {
        let missing = try TestSupport.taskhost(["map", "square", "1", "--sandbox", "--allow-read", "/no/such/path"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--allow-read: '/no/such/path' does not exist"))
        let unsandboxed = try TestSupport.taskhost(["map", "square", "1", "--allow-write", "/tmp"])
        #expect(unsandboxed.status == 2)
        #expect(unsandboxed.stderr == "taskhost: --allow-read and --allow-write need --sandbox\n")
    }

    @Test func withoutLandlockTheSandboxIsRefusedInOneLine() throws {
        for command in [["map", "square", "1", "2", "--sandbox"], ["run", "print_numbers", "--sandbox"]] {
            let run = try TestSupport.run(Self.withoutLandlock, [TestSupport.taskhost] + command)
            #expect(run.status == 1)
            #expect(run.stdout == "")
            #expect(run.stderr == "taskhost: the sandbox needs Landlock and seccomp, and this kernel has no Landlock (Linux 5.13 or later)\n")
        }
    }

    @Test func filterIsSandboxedByDefaultAndWritesTheSameBytes() throws {
        let folder = try imageWorkspace()
        let inputs = ["image1.jpg", "image3.png"]
        let sandboxed = try TestSupport.taskhost(["filter", "CONTOUR"] + inputs + ["-o", "a/b"], directory: folder)
        let plain = try TestSupport.taskhost(["filter", "CONTOUR"] + inputs + ["-o", "plain", "--no-sandbox"], directory: folder)
        #expect(sandboxed.status == 0 && sandboxed.stderr == "", "\(sandboxed.stderr)")
        #expect(plain.status == 0 && plain.stderr == "", "\(plain.stderr)")
        for name in inputs {
            let a = FileManager.default.contents(atPath: folder + "/a/b/filtered_" + name)
            #expect(a != nil && a == FileManager.default.contents(atPath: folder + "/plain/filtered_" + name), "\(name)")
        }
    }

    @Test func filterWorkersReadOnlyTheirInputs() throws {
        let folder = try imageWorkspace()
        // An initializer of the same run reads a file beside the inputs: refused in the
        // sandbox, fine without it; reading an input is fine either way.
        func filter(reading path: String, _ extra: [String] = []) throws -> TestSupport.Output {
            try TestSupport.taskhost(["filter", "CONTOUR", "image1.jpg", "-o", "out", "--plugin", Self.escape,
                                      "--initializer", "escape.attempt", "--initializer-arg", "read",
                                      "--initializer-arg", path] + extra, directory: folder)
        }
        let refused = try filter(reading: "secret.txt")
        #expect(refused.status != 0)
        #expect(withoutPIDs(refused.stderr).contains("the initializer escape.attempt failed in worker N: cannot open secret.txt: Permission denied"))
        #expect(try filter(reading: "image1.jpg").status == 0)
        #expect(try filter(reading: "secret.txt", ["--no-sandbox"]).status == 0)
        #expect(try filter(reading: "secret.txt", ["--allow-read", "secret.txt"]).status == 0)
    }

    @Test func withoutLandlockFilterWarnsOnceAndRunsUnsandboxed() throws {
        let folder = try imageWorkspace()
        let run = try TestSupport.run(Self.withoutLandlock, [TestSupport.taskhost, "filter", "CONTOUR", "image1.jpg", "-o", "out"],
                                      directory: folder)
        #expect(run.status == 0)
        #expect(run.stdout == "Filtered image saved: out/filtered_image1.jpg\nImage processing finished\n")
        #expect(run.stderr == "taskhost: warning: running without the sandbox: the sandbox needs Landlock and seccomp, and this kernel has no Landlock (Linux 5.13 or later)\n")
        let asked = try TestSupport.run(Self.withoutLandlock, [TestSupport.taskhost, "filter", "CONTOUR", "image1.jpg",
                                                               "-o", "out2", "--sandbox"], directory: folder)
        #expect(asked.status == 1)
        #expect(asked.stderr == "taskhost: the sandbox needs Landlock and seccomp, and this kernel has no Landlock (Linux 5.13 or later)\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out2"))
    }
}
