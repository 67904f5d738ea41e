import Foundation
import Testing
import TestSupport

/// A program whose libTaskHost.so has no fork server beside it (copied alone
/// to a folder of its own) gets one error that names where it looked and
/// what to build — not a hang, not a crash.
@Suite struct MissingForkServerTests {
    @Test func aLibraryWithoutItsForkServerSaysWhatToBuild() throws {
        let folder = TestSupport.temporaryFolder("lonely-library")
        try FileManager.default.copyItem(atPath: TestSupport.productsFolder + "/libTaskHost.so",
                                         toPath: folder + "/libTaskHost.so")
        let source = folder + "/host.c"
        try """
            #include <taskhost/taskhost.h>
            #include <stdio.h>

            int main(void) {
                th_error *error = NULL;
                th_host *host = th_host_new(NULL, &error);
                if (host) { th_host_free(host); return 0; }
                printf("%s\\n", th_error_message(error));
                th_error_free(error);
                return 1;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let program = try EmbeddingTests.compile(source, name: "lonely", libraryFolder: folder)
        let result = try TestSupport.run(program, [], environment: ["TASKHOST_FORKSERVER": ""])
        #expect(result.status == 1)
        let looked = [folder + "/taskhost-forkserver", folder + "/taskhost/taskhost-forkserver",
                      (folder as NSString).deletingLastPathComponent + "/lib/taskhost/taskhost-forkserver"]
        #expect(result.stdout == "cannot find the fork server executable 'taskhost-forkserver' (looked at "
                + looked.joined(separator: ", ") + "): build it with 'swift build' (or 'swift build --product "
                + "taskhost-forkserver') in the package that builds the TaskHost library, or point "
                + "TASKHOST_FORKSERVER at it\n")
    }
}
