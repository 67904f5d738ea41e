import Foundation
import Testing

/// The built plugin exports its entry symbol and nothing of its own beside it (every if_* function is hidden).
@Suite struct ExportTests {
    /// libimagefilter.so beside the test runner (swift build puts the plugins with the other products).
    static let plugin: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = (exe as NSString).deletingLastPathComponent
        while !folder.isEmpty && folder != "/" {
            if FileManager.default.fileExists(atPath: folder + "/libimagefilter.so") { return folder + "/libimagefilter.so" }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return nil
    }()

    @Test func onlyTheEntrySymbolIsExported() throws {
        let path = try #require(Self.plugin, "libimagefilter.so not built (swift build first)")
        let handle = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL), "\(String(cString: dlerror()))")
        defer { dlclose(handle) }
        #expect(dlsym(handle, "taskhost_plugin_entry") != nil)
        for name in ["if_filter_parse", "if_filter_apply", "if_decode_file", "if_encode_jpeg", "if_encode_png",
                     "if_filter_bytes", "if_jpeg_read_header", "if_net_build", "png_open", "png_on_text",
                     "if_mode_name", "if_write_atomically"] {
            #expect(dlsym(handle, name) == nil, "\(name) is exported")
        }
    }
}
