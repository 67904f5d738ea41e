import Foundation
import Testing
import TestSupport

/// Every file a comment or a document names exists in the repository: a
/// Markdown document, a path into one of our folders (`Sources/TaskHost/…`), or a source
/// file's bare name (`worker.c`, `Job.swift`) in a comment. Stale references
/// (a moved file, a document that never existed) fail here.
@Suite struct RepositoryReferenceTests {
    static let root = TestSupport.repositoryRoot
    static let folders = ["Sources", "Plugins", "Tests", "include", "Examples", "bench"]
    /// Names that stand for the reader's own files, and folders made at run time.
    static let illustrative: Set<String> = ["my.c", "pc.c", "bench/.venv"]

    /// Whether a path names something of ours: its top folder and the one
    /// below exist (`Sources/App/main.swift` in a consumer's package does not).
    static func isOurs(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        // A top folder and a name: a file of ours when it has an extension (`Tests/images` may be anyone's).
        guard parts.count > 2 else { return parts.last?.contains(".") ?? false }
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: root + "/" + parts[0..<2].joined(separator: "/"), isDirectory: &isFolder)
            && isFolder.boolValue
    }

    /// Every file of the scanned folders (and the top-level documents), by path from the root.
    static let files: [String] = {
        var paths: [String] = []
        let manager = FileManager.default
        for folder in folders + [".ci"] {
            guard let walker = manager.enumerator(atPath: root + "/" + folder) else { continue }
            while let path = walker.nextObject() as? String {
                // Hidden folders are build output or tools' (.build, bench/.venv), not ours.
                if path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                paths.append(folder + "/" + path)
            }
        }
        let topLevel = (try? manager.contentsOfDirectory(atPath: root)) ?? []
        return paths + topLevel.filter { $0.hasSuffix(".md") }
    }()

    static let baseNames = Set(files.map { ($0 as NSString).lastPathComponent })

    static func matches(of pattern: String, in line: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: line, range: NSRange(line.startIndex..., in: line)).compactMap {
            Range($0.range(at: 1), in: line).map { String(line[$0]) }
        }
    }

    /// The references that name nothing in the repository, as `file:line: reference`.
    static func staleReferences() -> [String] {
        var stale: [String] = []
        for file in files where [".swift", ".c", ".h", ".md"].contains(where: file.hasSuffix) {
            guard let text = try? String(contentsOfFile: root + "/" + file, encoding: .utf8) else { continue }
            let isDocument = file.hasSuffix(".md")
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                let isComment = trimmed.hasPrefix("//") || trimmed.hasPrefix("/*") || trimmed.hasPrefix("*")
                guard isDocument || isComment else { continue }
                let text = String(line)
                var missing: [String] = []
                missing += matches(of: #"\b([\w-]+\.md)\b"#, in: text).filter { !baseNames.contains($0) }
                missing += matches(of: #"(?<![\w/.])((?:Sources|Tests|Plugins|include|Examples|bench|\.ci)/[\w./-]*[\w-])"#, in: text)
                    .filter { isOurs($0) && !FileManager.default.fileExists(atPath: root + "/" + $0) }
                if !isDocument && !trimmed.hasPrefix("#include") {
                    // Our C files are lower case (`worker.c`); `ZipDecode.c` is Pillow's.
                    missing += matches(of: #"(?<![\w/<.-])([A-Za-z_][\w-]*\.swift|[a-z_][\w-]*\.[ch])\b(?!>)"#, in: text)
                        .filter { !baseNames.contains($0) }
                }
                for reference in missing where !illustrative.contains(reference) {
                    stale.append("\(file):\(number + 1): \(reference)")
                }
            }
        }
        return stale
    }

    @Test func everyFileACommentNamesExists() {
        #expect(Self.files.count > 100, "the repository was not found at \(Self.root)")
        let stale = Self.staleReferences()
        #expect(stale.isEmpty, "references to files that do not exist:\n\(stale.joined(separator: "\n"))")
    }
}
