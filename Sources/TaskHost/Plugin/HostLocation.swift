#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import Foundation

/// Finds the files that live beside TaskHost: the fork server executable
/// and the built-in plugins.
enum HostLocation {
    /// The folder of the binary that contains this code (libTaskHost.so, or
    /// the executable it is linked into).
    static var libraryFolder: String? {
        guard let name = th_library_path() else { return nil }
        let path = PluginDiscovery.realPath(String(cString: name)) ?? String(cString: name)
        return (path as NSString).deletingLastPathComponent
    }

    /// The fork server executable: `TASKHOST_FORKSERVER`, else beside the
    /// running executable, else beside the TaskHost library.
    static func forkServerPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TASKHOST_FORKSERVER"], !path.isEmpty { return path }
        var tried: [String] = []
        for folder in PluginDiscovery.builtinFolders() {
            let path = folder + "/taskhost-forkserver"
            if access(path, X_OK) == 0 { return path }
            tried.append(path)
        }
        throw TaskHostError(.systemError,
            "cannot find the fork server executable 'taskhost-forkserver' (looked at \(tried.joined(separator: ", ")); set TASKHOST_FORKSERVER)")
    }
}
