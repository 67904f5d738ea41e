import ArgumentParser
import Foundation
import TaskHost

/// `--sandbox`, `--no-sandbox`, `--allow-read`, `--allow-write`: of every
/// subcommand that runs workers. Off by default, but for `filter`.
struct SandboxOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Lock each worker down before it runs a task: no network, no new processes or programs, files only as allowed (README \"Sandbox\"). Default: off, but on for filter.")
    var sandbox: Bool?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("In the sandbox: the workers may read this file or folder (repeatable).", valueName: "PATH"))
    var allowRead: [String] = []

    @Option(name: .customLong("allow-write"), help: ArgumentHelp("In the sandbox: the workers may write beneath this folder, or to this file (repeatable).", valueName: "PATH"))
    var allowWrite: [String] = []

    func validate() throws {
        if sandbox == false && !(allowRead.isEmpty && allowWrite.isEmpty) {
            throw ValidationError("--allow-read and --allow-write need the sandbox, not --no-sandbox")
        }
        // A path that does not exist would silently grant nothing.
        for (option, paths) in [("--allow-read", allowRead), ("--allow-write", allowWrite)] {
            for path in paths where !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(option): '\(path)' does not exist")
            }
        }
    }

    /// The sandbox of map, starmap, apply and run: with --sandbox, else none.
    func requested() throws -> Sandbox? {
        guard sandbox == true else {
            if !(allowRead.isEmpty && allowWrite.isEmpty) {
                throw CLIError.usage("--allow-read and --allow-write need --sandbox")
            }
            return nil
        }
        return Sandbox(allowRead: allowRead, allowWrite: allowWrite)
    }

    /// A sandbox on by default (filter's), with these paths allowed too:
    /// none with --no-sandbox; none, with one warning line, on a kernel that
    /// cannot sandbox — unless --sandbox was given, which then fails.
    func byDefault(allowRead extraRead: [String], allowWrite extraWrite: [String]) throws -> Sandbox? {
        guard sandbox != false else { return nil }
        do {
            try Sandbox.checkSupport()
        } catch let error as TaskHostError where sandbox == nil {
            printError("taskhost: warning: running without the sandbox: \(error.message)")
            return nil
        }
        return Sandbox(allowRead: extraRead + allowRead, allowWrite: extraWrite + allowWrite)
    }
}
