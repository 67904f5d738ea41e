#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where plugin files come from, most explicit first: that order decides
/// which plugin wins when two share a name.
public enum PluginSource: Int, Sendable, Comparable {
    /// A file named explicitly (`--plugin FILE`).
    case explicit = 0
    /// A folder in `TASKHOST_PLUGIN_PATH`.
    case searchPath = 1
    /// The shipped plugins' folder (beside the binary holding TaskHost, or its installed `taskhost/plugins/`).
    case builtin = 2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Where the file came from, in the user's words (for `--verbose`).
    var userDescription: String {
        switch self {
        case .explicit: "--plugin"
        case .searchPath: "TASKHOST_PLUGIN_PATH"
        case .builtin: "the shipped plugins"
        }
    }
}

/// A candidate plugin file found on disk.
struct PluginCandidate: Sendable {
    var path: String
    var source: PluginSource
}

enum PluginDiscovery {
    /// The folder of shipped plugins: in an installed layout
    /// `taskhost/plugins/` beside the binary holding TaskHost (or
    /// `../lib/taskhost/plugins/`), else that binary's own folder (the build
    /// folder, where `swift build` puts the plugins). See HostLocation.
    static func builtinFolders() -> [String] {
        guard let base = HostLocation.baseFolder else { return [] }
        for folder in HostLocation.installedFolders(base, "/plugins") {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue { return [folder] }
        }
        return [base]
    }

    /// Every candidate, deduplicated by real path (the most explicit source kept).
    static func candidates(explicitFiles: [String], searchPath: String?, builtin: [String]) throws -> [PluginCandidate] {
        var result: [PluginCandidate] = []
        var seen = Set<String>()
        func add(_ path: String, _ source: PluginSource) {
            let real = realPath(path) ?? path
            if seen.insert(real).inserted { result.append(PluginCandidate(path: real, source: source)) }
        }
        for file in explicitFiles {
            guard FileManager.default.fileExists(atPath: file) else {
                throw TaskHostError(.pluginError, "plugin file '\(file)' does not exist")
            }
            add(file, .explicit)
        }
        let folders = (searchPath ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        for folder in folders { for file in sharedObjects(in: folder) { add(file, .searchPath) } }
        for folder in builtin { for file in sharedObjects(in: folder) { add(file, .builtin) } }
        return result
    }

    /// A note for each `TASKHOST_PLUGIN_PATH` entry that gives no files:
    /// one that does not exist, is not a folder, or cannot be read.
    static func searchPathNotes(_ searchPath: String?) -> [String] {
        (searchPath ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }.compactMap { folder in
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
                return "TASKHOST_PLUGIN_PATH entry '\(folder)' does not exist"
            }
            guard isFolder.boolValue else { return "TASKHOST_PLUGIN_PATH entry '\(folder)' is not a folder" }
            guard access(folder, R_OK | X_OK) == 0 else {
                return "TASKHOST_PLUGIN_PATH entry '\(folder)' cannot be read: \(String(cString: strerror(errno)))"
            }
            return nil
        }
    }

    private static func sharedObjects(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { $0.hasSuffix(".so") }.sorted().map { folder + "/" + $0 }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
