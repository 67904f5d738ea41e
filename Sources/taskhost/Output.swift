#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskHost

/// Errors the CLI reports in one line before or instead of running anything.
enum CLIError: Error {
    /// Bad usage: exit status 2.
    case usage(String)
    /// Some items failed (already reported): exit status 1.
    case itemsFailed
}

/// Writes a line to stderr.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// Runs a subcommand body, turning errors into one line on stderr and an exit status.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch CLIError.usage(let message) {
        printError("taskhost: \(message)")
        throw ExitCode(2)
    } catch CLIError.itemsFailed {
        throw ExitCode(1)
    } catch let error as TaskHostError {
        printError("taskhost: \(error.message)")
        throw ExitCode(error.kind == .invalidArgument || error.kind == .pluginError ? 2 : 1)
    }
}


/// The CLI's one failure summary: a line per failed item — the first ten
/// by position — then a count, on stderr:
///
///     taskhost: item 2 failed (crashed): worker 4242 was killed by SIGSEGV (segmentation fault) while running faulty.segv(3)
///     taskhost: 1 of 5 items failed
///
/// The item is named once: by its position (`item 2`), or by what it is
/// where that says more (an image's path, a process's task).
struct FailureSummary {
    /// What the items are, for the count: "item", "image", "process".
    let noun: String
    private(set) var count = 0
    private var first: [(position: Int, line: String)] = []
    static let shown = 10

    init(noun: String = "item") { self.noun = noun }

    /// Records a failed item. `label` names it (default `item N`); `text`
    /// says what went wrong (default the error's message).
    mutating func add(_ error: TaskHostError, at position: Int, label: String? = nil, text: String? = nil) {
        count += 1
        let line = "taskhost: \(label ?? "item \(position)") failed (\(error.kind.rawValue)): \(text ?? error.message)"
        let slot = first.firstIndex { $0.position > position } ?? first.endIndex
        guard slot < Self.shown else { return }
        first.insert((position, line), at: slot)
        if first.count > Self.shown { first.removeLast() }
    }

    /// Prints the summary of `total` items; throws `itemsFailed` when any failed.
    func report(total: Int) throws {
        guard count > 0 else { return }
        fflush(nil)
        for entry in first { printError(entry.line) }
        if count > first.count { printError("taskhost: … and \(count - first.count) more") }
        printError("taskhost: \(count) of \(total) \(noun)\(total == 1 ? "" : "s") failed")
        throw CLIError.itemsFailed
    }
}
