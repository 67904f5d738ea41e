import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `taskhost --mpi` under `mpirun -np 3` (on this one machine, `--oversubscribe`):
/// it prints byte for byte what the single-machine command prints, the other
/// ranks print nothing on stdout, and a crash fails one item, naming its host.
/// These run only when taskhost was built with the package trait MPI
/// (`swift build --traits MPI && swift test --traits MPI`), which needs Open MPI.
@Suite(.enabled(if: MPIRun.available, MPIRun.unavailableReason), .serialized)
struct MPITests {
    @Test func mapOverThreeRanksPrintsWhatOneMachinePrints() throws {
        let numbers = (1...1000).map(String.init)
        let one = try TestSupport.taskhost(["map", "square"] + numbers + ["-p", "2"])
        let three = try MPIRun.taskhost(ranks: 3, ["map", "square"] + numbers + ["-p", "2", "--mpi"])
        #expect(three.status == 0, "\(three.stderr)")
        #expect(one.status == 0)
        #expect(three.stdout == one.stdout)
        #expect(three.stdout.hasPrefix("[1, 4, 9, ") && three.stdout.hasSuffix(", 1000000]\n"))
    }

    @Test func jsonLinesFromStdinAreTheSameInOrderAndUnordered() throws {
        let input = (1...5000).map(String.init).joined(separator: "\n") + "\n"
        let one = try TestSupport.taskhost(["map", "square", "-", "--jsonl"], input: input)
        let three = try MPIRun.taskhost(ranks: 3, ["map", "square", "-", "--jsonl", "--mpi", "-p", "2"], input: input)
        #expect(three.status == 0, "\(three.stderr)")
        #expect(three.stdout == one.stdout)
        let unordered = try MPIRun.taskhost(ranks: 3, ["map", "square", "-", "--jsonl", "--unordered", "--mpi", "-p", "2"],
                                            input: input)
        #expect(unordered.status == 0)
        #expect(unordered.stdout.split(separator: "\n").sorted() == one.stdout.split(separator: "\n").sorted())
    }

    @Test func starmapFromStdinPrintsWhatOneMachinePrints() throws {
        var lines = (1...300).map { "[\"ab\", \($0 % 7)]" }
        lines[41] = "not json"
        lines[100] = "[\"too\", 1, \"many\"]"
        let input = lines.joined(separator: "\n") + "\n"
        let one = try TestSupport.taskhost(["starmap", "text.repeat", "-p", "2"], input: input)
        let three = try MPIRun.taskhost(ranks: 3, ["starmap", "text.repeat", "-p", "2", "--mpi"], input: input)
        #expect(one.status == 1)
        #expect(three.status == 1)
        #expect(three.stdout == one.stdout)
        #expect(three.stdout.contains("\"line 42 is not a JSON array of arguments"))
        #expect(three.stderr.contains("taskhost: 2 of 300 items failed"))
    }

    @Test func applyRunsOnTheClusterToo() throws {
        let three = try MPIRun.taskhost(ranks: 3, ["apply", "text.upper", "hello", "--mpi"])
        #expect(three.status == 0, "\(three.stderr)")
        #expect(three.stdout == "\"HELLO\"\n")
    }

    @Test func filterContourOverEightImagesWritesTheSameFilesAndLines() throws {
        let folder = TestSupport.temporaryFolder("mpi-filter")
        var names: [String] = []
        for i in 1...8 {
            let name = "photo\(i).jpg"
            let made = try TestSupport.taskhost(["apply", "imagefilter.make_sample", folder + "/" + name, "\(200 + 16 * i)", "150", "\(i)"])
            #expect(made.status == 0, "\(made.stderr)")
            names.append(name)
        }
        let one = try TestSupport.taskhost(["filter", "CONTOUR"] + names + ["-p", "2", "-o", "out"], directory: folder)
        // --tag-output marks each line with the rank that printed it: only rank 0 may print.
        let three = try MPIRun.taskhost(ranks: 3, ["filter", "CONTOUR"] + names + ["-p", "2", "-o", "out", "--mpi"],
                                        directory: folder, mpirunOptions: ["--tag-output"])
        #expect(one.status == 0 && three.status == 0, "\(three.stderr)")
        var ranks: Set<String> = []
        var lines: [String] = []
        for line in three.stdout.split(separator: "\n").map(String.init) {
            guard let end = line.range(of: "<stdout>:") else { Issue.record("untagged line \(line)"); continue }
            ranks.insert(String(line[..<end.lowerBound]).split(separator: ",").last.map(String.init) ?? "")
            lines.append(String(line[end.upperBound...]))
        }
        #expect(ranks == ["0]"])
        let expected = one.stdout.split(separator: "\n").map(String.init)
        #expect(lines.last == "Image processing finished")
        #expect(expected.last == "Image processing finished")
        #expect(lines.sorted() == expected.sorted())
        #expect(lines.count == 9)
        // The same run again, plain, must write the same bytes as one machine did.
        let again = try MPIRun.taskhost(ranks: 3, ["filter", "CONTOUR"] + names + ["-p", "2", "-o", "mpi-out", "--mpi"],
                                        directory: folder)
        #expect(again.status == 0)
        for name in names {
            let ours = FileManager.default.contents(atPath: folder + "/mpi-out/filtered_" + name)
            let single = FileManager.default.contents(atPath: folder + "/out/filtered_" + name)
            #expect(ours != nil && ours == single, "filtered_\(name)")
        }
    }

    @Test func aSegfaultFailsOnlyItsItemNamingItsHostAndTheJobGoesOn() throws {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let three = try MPIRun.taskhost(ranks: 3, ["map", "faulty.segv"] + (1...40).map(String.init)
                                        + ["-p", "2", "--chunksize", "2", "--plugin", TestSupport.faultyPlugin, "--mpi"])
        #expect(three.status == 1)
        let items = try #require(JSONSerialization.jsonObject(with: Data(three.stdout.utf8)) as? [Any])
        #expect(items.count == 40)
        for (index, item) in items.enumerated() where index != 2 { #expect(item as? Int == index + 1) }
        let error = try #require((items[2] as? [String: Any])?["error"] as? [String: Any])
        #expect(error["kind"] as? String == "crashed")
        #expect(error["signal"] as? String == "SIGSEGV")
        let message = error["message"] as? String ?? ""
        #expect(message.contains("was killed by SIGSEGV (segmentation fault) while running faulty.segv(3) on host \(host) (MPI rank "))
        #expect(three.stderr.contains("taskhost: 1 of 40 items failed"))
    }

    @Test func chunksGoToEveryRank() throws {
        // segv97 crashes on multiples of 97: each crash names the rank that ran it.
        let three = try MPIRun.taskhost(ranks: 3, ["map", "faulty.segv97"] + (1...1940).map(String.init)
                                        + ["-p", "1", "--chunksize", "97", "--plugin", TestSupport.faultyPlugin, "--mpi"])
        #expect(three.status == 1)
        let items = try #require(JSONSerialization.jsonObject(with: Data(three.stdout.utf8)) as? [Any])
        var ranks: Set<String> = []
        for (index, item) in items.enumerated() where (index + 1) % 97 == 0 {
            let message = ((item as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
            if let range = message.range(of: "(MPI rank ") { ranks.insert(String(message[range.upperBound...].prefix(1))) }
        }
        #expect(ranks == ["0", "1", "2"])
    }

    @Test func aUsageErrorIsPrintedOnceWithStatus2() throws {
        for (arguments, message) in [(["map", "square", "1", "2", "--bogus", "--mpi"],
                                      "taskhost: map: unknown option '--bogus' (a value that starts with '-' goes after '--')\n"),
                                     (["map", "square", "1", "2", "-p", "0", "--mpi"],
                                      "taskhost: -p must be at least 1, got 0\n")] {
            let single = try TestSupport.taskhost(arguments)
            #expect(single.stderr == message)
            let three = try MPIRun.taskhost(ranks: 3, arguments)
            #expect(three.status == 2, "\(three.stderr)")
            #expect(three.stdout == "")
            #expect(three.stderr.components(separatedBy: message).count - 1 == 1, "\(three.stderr)")
            #expect(!three.stderr.contains("(MPI rank "), "\(three.stderr)")
        }
    }

    @Test func withoutMPIRunItIsAJobOfOneRank() throws {
        // Open MPI's singleton mode: taskhost --mpi started alone is rank 0 of 1.
        let alone = try TestSupport.taskhost(["map", "square", "1", "2", "3", "--mpi"])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stdout == "[1, 4, 9]\n")
    }
}

/// Running taskhost under mpirun.
enum MPIRun {
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    #if MPI
    static let builtWithMPI = true
    #else
    static let builtWithMPI = false
    #endif

    static var available: Bool { builtWithMPI && mpirun != nil }

    static var unavailableReason: Comment {
        if !builtWithMPI {
            return "taskhost was built without the package trait MPI: swift build --traits MPI && swift test --traits MPI runs these (needs Open MPI: apt-get install openmpi-bin libopenmpi-dev)"
        }
        return "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"
    }

    /// `mpirun -np RANKS taskhost ARGUMENTS` (as root too, more ranks than cores allowed).
    static func taskhost(ranks: Int, _ arguments: [String], input: String? = nil, directory: String? = nil,
                         mpirunOptions: [String] = []) throws -> TestSupport.Output {
        try run(ranks: ranks, TestSupport.taskhost, arguments, input: input, directory: directory, mpirunOptions: mpirunOptions)
    }

    /// `mpirun -np RANKS PROGRAM ARGUMENTS`, as `taskhost(ranks:…)`.
    static func run(ranks: Int, _ program: String, _ arguments: [String], input: String? = nil, directory: String? = nil,
                    mpirunOptions: [String] = []) throws -> TestSupport.Output {
        try TestSupport.run(mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"] + mpirunOptions
                            + [program] + arguments, input: input, directory: directory)
    }
}
