import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Paths and helpers shared by the test suites.
public enum TestSupport {
    /// The repository's root, found from this file's path.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The folder holding the built products (`taskhost`, the plugins).
    public static let productsFolder: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = (exe as NSString).deletingLastPathComponent
        // The test runner may live inside an .xctest bundle folder.
        while !folder.isEmpty && folder != "/" && !FileManager.default.fileExists(atPath: folder + "/taskhost-forkserver") {
            folder = (folder as NSString).deletingLastPathComponent
        }
        return folder
    }()

    /// The `taskhost` executable.
    public static var taskhost: String { productsFolder + "/taskhost" }

    /// A fresh temporary folder.
    public static func temporaryFolder(_ name: String = "taskhost-test") -> String {
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/\(name)-XXXXXX").utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: path!)
    }

    /// Compiles a C plugin from the repository with `cc`; returns the .so path.
    public static func buildPlugin(_ source: String, name: String, extraFlags: [String] = []) throws -> String {
        let folder = temporaryFolder("plugin-\(name)")
        let output = folder + "/\(name).so"
        let result = try run("/usr/bin/env", ["cc", "-std=c11", "-D_GNU_SOURCE", "-shared", "-fPIC", "-Wall", "-Wextra",
                                              "-I", repositoryRoot + "/include", source, "-o", output] + extraFlags)
        guard result.status == 0 else {
            throw NSError(domain: "TestSupport", code: 1, userInfo: [NSLocalizedDescriptionKey: "cc failed: \(result.stderr)"])
        }
        return output
    }

    /// A file under `Tests/`, by its path relative to that folder.
    public static func fixture(_ path: String) -> String { repositoryRoot + "/Tests/" + path }

    /// Compiles a test-only plugin of `Tests/Plugins` by its source's path there (`"types/types.c"`).
    public static func buildTestPlugin(_ source: String, name: String? = nil) throws -> String {
        let base = ((source as NSString).lastPathComponent as NSString).deletingPathExtension
        return try buildPlugin(fixture("Plugins/" + source), name: name ?? base)
    }

    /// The test-only plugin that misbehaves on purpose (Tests/Plugins/faulty).
    public static let faultyPlugin: String = { try! buildTestPlugin("faulty/faulty.c") }()

    /// Polls `condition` every 20 ms for up to `seconds`; whether it came true.
    public static func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Whether the whole of `text` matches the regular expression `pattern` (`.` matches newlines too).
    public static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: "^" + pattern + "$", options: [.dotMatchesLineSeparators]) else {
            return false
        }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// What a finished command printed, and how it ended.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a command with `input` on stdin; waits for it.
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil,
                           environment: [String: String]? = nil, directory: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        // Feed stdin and drain stderr on their own threads, so no pipe can fill
        // up while the command waits for us to read another.
        let group = DispatchGroup()
        let writer = inp.fileHandleForWriting
        let inputData = Data((input ?? "").utf8)
        group.enter()
        // A thread of its own with SIGPIPE blocked: a command that exits without
        // reading all its input gives EPIPE here, not a dead test process (the
        // pending signal dies with the thread). Children keep the default.
        let feeder = Thread {
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            if !inputData.isEmpty { try? writer.write(contentsOf: inputData) }
            try? writer.close()
            group.leave()
        }
        feeder.start()
        let errData = LockedData()
        group.enter()
        DispatchQueue.global().async {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    /// Runs `taskhost` with arguments.
    public static func taskhost(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
                                directory: String? = nil) throws -> Output {
        try run(taskhost, arguments, input: input, environment: environment, directory: directory)
    }

    /// Open descriptors of this process.
    public static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Children of `pid` (any state), from /proc.
    public static func children(of pid: pid_t) -> [pid_t] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { pid_t($0) }
    }

    /// The resident set size of this process in bytes.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (Int(fields.count > 1 ? fields[1] : "0") ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Whether a process exists (and is not a zombie).
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
