import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The C API of the cluster pool (include/taskhost/cluster.h,
/// libTaskHostCluster.so): cluster_pool.c makes the same calls on a pool of
/// one machine (th_pool_new, libTaskHost.so) and, under `mpirun -np 3`, on a
/// cluster pool (th_cluster_pool_new); both print the same bytes.
@Suite(.enabled(if: MPIRun.available, MPIRun.unavailableReason), .serialized)
struct ClusterCAPITests {
    @Test func theClusterPoolPrintsWhatOneMachinePrints() throws {
        let single = try ClusterProgram.compile(cluster: false)
        let cluster = try ClusterProgram.compile(cluster: true)
        let one = try TestSupport.run(single, [TestSupport.faultyPlugin])
        let three = try MPIRun.run(ranks: 3, cluster, [TestSupport.faultyPlugin])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(three.status == 0, "\(three.stderr)")
        #expect(three.stdout == one.stdout)
        #expect(one.stdout.hasPrefix("map square.square over 1 ... 1000:\n  0: 1\n  1: 4\n"))
        #expect(one.stdout.contains("  999: 1000000\n  0 failed\n"))
        #expect(one.stdout.contains("  7: error taskError: text.repeat(\"ab\", -1): times must be 0 or more, got -1\n"))
        #expect(one.stdout.contains("apply text.upper(\"seed\"):\n  0: \"SEED\"\n  0 failed\n"))
        #expect(one.stdout.contains("  1: error invalidArgument: square.square: parameter 'x' expects int64, got string \"three\"\n"))
        let segv = (1...40).map { $0 == 3 ? "  2: error crashed SIGSEGV\n" : "  \($0 - 1): \($0)\n" }.joined()
        #expect(one.stdout.contains("map faulty.segv over 1 ... 40:\n" + segv + "  1 failed\n"))
        #expect(one.stdout.contains("apply faulty.segv(3):\n  0: error crashed SIGSEGV\n  1 failed\n"))
        #expect(one.stdout.hasSuffix("map after close:\n  the call failed: invalidArgument: the pool is closed\n"))

        // The crashes name the host and rank they ran on; the other ranks return NULL once rank 0 closed the pool.
        let host = MPIRun.hostName
        let crashes = three.stderr.split(separator: "\n").filter { $0.hasPrefix("message of item") }
        #expect(crashes.count == 2, "\(three.stderr)")
        for line in crashes {
            #expect(line.contains(" was killed by SIGSEGV (segmentation fault) while running faulty.segv(3) on host \(host) (MPI rank "),
                    "\(line)")
        }
        #expect(three.stderr.components(separatedBy: "a worker rank is done\n").count - 1 == 2, "\(three.stderr)")
    }

    /// libTaskHost.so stays free of MPI and of th_cluster_pool_new;
    /// libTaskHostCluster.so has taskhost.h's API and cluster.h's.
    @Test func onlyTheClusterLibraryLinksMPI() throws {
        let products = TestSupport.productsFolder
        let single = try ClusterProgram.exported(products + "/libTaskHost.so")
        let cluster = try ClusterProgram.exported(products + "/libTaskHostCluster.so")
        #expect(single.contains("th_pool_map") && !single.contains("th_cluster_pool_new"))
        #expect(cluster.isSuperset(of: single.filter { $0.hasPrefix("th_") }))
        #expect(cluster.contains("th_cluster_pool_new"))
        let ldd = try TestSupport.run("/usr/bin/env", ["ldd", products + "/libTaskHost.so"])
        #expect(ldd.status == 0 && !ldd.stdout.contains("libmpi"), "\(ldd.stdout)")
        let clusterLdd = try TestSupport.run("/usr/bin/env", ["ldd", products + "/libTaskHostCluster.so"])
        #expect(clusterLdd.stdout.contains("libmpi"), "\(clusterLdd.stdout)")
    }
}

/// Built without the trait MPI, libTaskHostCluster.so is taskhost.h's API,
/// and th_cluster_pool_new says how to build it.
@Suite(.enabled(if: !MPIRun.builtWithMPI, "built with the trait MPI: ClusterCAPITests runs the cluster pool"))
struct ClusterCAPIWithoutMPITests {
    @Test func thClusterPoolNewSaysHowToBuildIt() throws {
        let program = try ClusterProgram.compile(cluster: true)
        let run = try TestSupport.run(program, [TestSupport.faultyPlugin])
        #expect(run.stdout == "")
        #expect(run.stderr == "th_cluster_pool_new: systemError: th_cluster_pool_new needs TaskHost built with Open MPI: swift build --traits MPI (README: Running on a cluster)\n")
        #expect(run.status == 1)
        let ldd = try TestSupport.run("/usr/bin/env", ["ldd", TestSupport.productsFolder + "/libTaskHostCluster.so"])
        #expect(ldd.status == 0 && !ldd.stdout.contains("libmpi"), "\(ldd.stdout)")
    }
}

/// Tests/MPITests/cluster_pool.c, compiled as a user compiles it.
enum ClusterProgram {
    /// With `cluster`, -DCLUSTER against libTaskHostCluster.so; else against libTaskHost.so.
    static func compile(cluster: Bool) throws -> String {
        let products = TestSupport.productsFolder
        let name = cluster ? "cluster_pool" : "single_pool"
        let output = TestSupport.temporaryFolder("mpi-capi-\(name)") + "/" + name
        let result = try TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                                                          "-I", TestSupport.repositoryRoot + "/include"]
                                                          + (cluster ? ["-DCLUSTER"] : [])
                                                          + [TestSupport.repositoryRoot + "/Tests/MPITests/cluster_pool.c",
                                                             "-o", output, "-L", products, "-Wl,-rpath," + products,
                                                             cluster ? "-lTaskHostCluster" : "-lTaskHost"])
        try #require(result.status == 0, "cc failed: \(result.stderr)")
        return output
    }

    /// The functions a shared library exports.
    static func exported(_ library: String) throws -> Set<String> {
        let nm = try TestSupport.run("/usr/bin/env", ["nm", "-D", "--defined-only", library])
        try #require(nm.status == 0, "nm failed: \(nm.stderr)")
        return Set(nm.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[1] == "T" ? String(fields[2]) : nil
        })
    }
}
