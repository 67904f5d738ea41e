import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Run the seed's programs through the real plugins: square with Pool.map, print with two processes.")

    @OptionGroup var host: HostOptions

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()

            print("== Pool(processes: 2).map(square, [1, 2, 3, 4, 5])")
            let pool = try Pool(host: host, processes: 2)
            let results = try pool.map("square.square", [1, 2, 3, 4, 5])
            pool.close()
            print("[" + results.map(JSON.encode).joined(separator: ", ") + "]")
            print()

            print("== Process(print_numbers), Process(print_letters): start, start, join, join")
            try runProcesses(host, ["print.print_numbers", "print.print_letters"])
        }
    }
}
