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


/// Writes the results as a JSON array, and a summary of failures to stderr.
func reportResults(_ results: [TaskResult]) throws {
    var out = "["
    for (i, result) in results.enumerated() {
        if i > 0 { out += ", " }
        out += JSON.encode(result)
    }
    out += "]"
    print(out)
    try summarizeFailures(results.enumerated().map { ($0.offset, $0.element) })
}

/// One stderr line per failed item (at most 10) and a count; throws itemsFailed if any.
func summarizeFailures(_ results: [(Int, TaskResult)]) throws {
    let failures = results.compactMap { index, result -> (Int, TaskHostError)? in
        if case .failure(let e) = result { return (index, e) } else { return nil }
    }
    guard !failures.isEmpty else { return }
    fflush(nil)
    for (index, error) in failures.prefix(10) { printError("taskhost: item \(index) failed (\(error.kind.rawValue)): \(error.message)") }
    if failures.count > 10 { printError("taskhost: … and \(failures.count - 10) more") }
    printError("taskhost: \(failures.count) of \(results.count) item\(results.count == 1 ? "" : "s") failed")
    throw CLIError.itemsFailed
}
