#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import Foundation

/// Finds the files that live beside TaskHost: the fork server executable
/// and the built-in plugins, in the build folder or an installed layout.
///
/// Everything is found from the folder of the binary that holds this code:
/// the `taskhost` executable or a test runner (which link TaskHost in), or
/// `libTaskHost.so` for a program that embeds it. Not the folder of a program
/// that merely links the library: its neighbours are not plugins.
///
/// | layout | fork server | plugins |
/// | --- | --- | --- |
/// | build folder (`.build/debug`) | `./taskhost-forkserver` | `./*.so` |
/// | installed library (`PREFIX/lib`) | `taskhost/taskhost-forkserver` | `taskhost/plugins/*.so` |
/// | installed CLI (`PREFIX/bin`) | `../lib/taskhost/taskhost-forkserver` | `../lib/taskhost/plugins/*.so` |
enum HostLocation {
    /// The folder of the binary that contains this code (libTaskHost.so, or
    /// the executable it is linked into).
    static var libraryFolder: String? {
        guard let name = th__library_path() else { return nil }
        let path = PluginDiscovery.realPath(String(cString: name)) ?? String(cString: name)
        return (path as NSString).deletingLastPathComponent
    }

    /// The folder of the running executable.
    static var executableFolder: String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent
    }

    /// Where the search starts: the library's folder (the executable's if unknown).
    static var baseFolder: String? { libraryFolder ?? executableFolder }

    /// The installed layout's folders relative to `base`, most specific first.
    static func installedFolders(_ base: String, _ tail: String) -> [String] {
        [base + "/taskhost" + tail, base + "/../lib/taskhost" + tail].map { ($0 as NSString).standardizingPath }
    }

    /// The fork server executable: `TASKHOST_FORKSERVER`, else beside the
    /// binary holding this code, else in the installed layout's `taskhost/`.
    static func forkServerPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TASKHOST_FORKSERVER"], !path.isEmpty { return path }
        var tried: [String] = []
        if let base = baseFolder {
            for folder in [base] + installedFolders(base, "") {
                let path = folder + "/taskhost-forkserver"
                if access(path, X_OK) == 0 { return path }
                tried.append(path)
            }
        }
        throw TaskHostError(.systemError,
            "cannot find the fork server executable 'taskhost-forkserver' (looked at \(tried.joined(separator: ", "))): "
            + "build it with 'swift build' (or 'swift build --product taskhost-forkserver') in the package that "
            + "builds the TaskHost library, or point TASKHOST_FORKSERVER at it")
    }
}
