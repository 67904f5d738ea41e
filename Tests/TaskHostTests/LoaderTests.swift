import Testing
import TaskHost
import TestSupport

/// The loader refuses anything that is not a valid plugin, with a message that says why.
@Suite struct LoaderTests {
    func refusal(_ source: String) throws -> TaskHostError {
        let path = try TestSupport.buildTestPlugin("bad/\(source).c", name: source)
        do {
            _ = try PluginHost(pluginFiles: [path])
        } catch let error as TaskHostError {
            #expect(error.kind == .pluginError)
            #expect(error.message.hasPrefix("cannot load plugin file '\(path)': "))
            return error
        }
        Issue.record("\(source) was loaded")
        return TaskHostError(.pluginError, "")
    }

    @Test func sharedObjectWithoutEntrySymbolIsRefused() throws {
        #expect(try refusal("no_entry").message.hasSuffix("it has no entry symbol 'taskhost_plugin_entry', so it is not a TaskHost plugin"))
    }

    @Test func wrongABIVersionIsRefused() throws {
        #expect(try refusal("wrong_abi").message.hasSuffix("it was built for plugin ABI version 2, but this host speaks version 1"))
    }

    @Test func duplicateTaskNamesAreRefused() throws {
        #expect(try refusal("duplicate_task").message.hasSuffix("plugin 'dupes' declares task 'one' twice"))
    }

    @Test func unknownParameterTypeIsRefused() throws {
        #expect(try refusal("bad_type").message.hasSuffix("plugin 'badtype': task 'one': parameter 'x' has an unknown type 42"))
    }

    @Test func sharedBytesResultIsRefused() throws {
        #expect(try refusal("shared_result").message.hasSuffix(
            "plugin 'sharedresult': task 'view' returns shared bytes, which only a parameter can be (write into a TH_SHARED_BYTES parameter instead)"))
    }

    @Test func pluginCrashingInItsConstructorDoesNotTakeTheHostDown() throws {
        #expect(try refusal("crash_on_load").message.hasSuffix("it crashed while loading (Segmentation fault)"))
        // The host process is still here, and a new host works.
        let host = try PluginHost()
        #expect(host.plugins.contains { $0.name == "square" })
    }

    @Test func missingExplicitFileIsAnError() throws {
        #expect(throws: TaskHostError.self) { _ = try PluginHost(pluginFiles: ["/nonexistent/plugin.so"]) }
    }

    @Test func builtinPluginsAreFoundBesideTheExecutable() throws {
        let host = try PluginHost()
        #expect(Set(host.plugins.map(\.name)).isSuperset(of: ["square", "print", "text"]))
        let square = try host.task(named: "square")
        #expect(square.signature == "square.square(x: int64) -> int64")
    }

    @Test func explicitPluginShadowsBuiltinOfTheSameName() throws {
        let impostor = try TestSupport.buildTestPlugin("bad/mathx_shadow.c", name: "impostor")
        let host = try PluginHost(pluginFiles: [impostor])
        #expect(host.plugins.first { $0.name == "square" }?.version == "2.0.0")
        #expect(host.catalog.notes.contains {
            $0.hasPrefix("plugin 'square' in ") && $0.contains("(from the shipped plugins) is not used: the one in ")
                && $0.hasSuffix("(from --plugin) comes first")
        }, "\(host.catalog.notes)")
        let pool = try Pool(host: host, processes: 1)
        #expect(try pool.apply("square", [3]) == .int64(27))
    }

    @Test func theSameFileReachedTwiceCountsOnce() throws {
        let types = try TestSupport.buildTestPlugin("types/types.c", name: "types")
        let folder = (types as NSString).deletingLastPathComponent
        let host = try PluginHost(pluginFiles: [types, folder + "/./types.so"], pluginPath: folder)
        #expect(host.plugins.filter { $0.name == "types" }.count == 1)
        #expect(host.catalog.notes.isEmpty || !host.catalog.notes.contains { $0.contains("types") })
    }

    @Test func taskLookupExplainsWhatIsWrong() throws {
        let host = try PluginHost()
        #expect(throws: TaskHostError(.invalidArgument, "unknown task 'sqare'; did you mean 'square'? (loaded plugins: \(host.plugins.map(\.name).joined(separator: ", ")))")) {
            _ = try host.task(named: "sqare")
        }
        #expect(throws: TaskHostError(.invalidArgument, "plugin 'square' has no task 'cube' (its tasks: square)")) {
            _ = try host.task(named: "square.cube")
        }
        #expect(try host.task(named: "print.print_letters").name == "print_letters")
    }

    /// A program that found no plugin at all is told where they come from and
    /// which products hold the shipped ones.
    @Test func noPluginsLoadedSaysWhereTheyComeFrom() throws {
        let host = try PluginHost(pluginPath: "", includeBuiltin: false)
        #expect(host.plugins.isEmpty)
        #expect(throws: TaskHostError(.invalidArgument, "unknown task 'square' (no plugins are loaded: plugins are the "
                                      + "lib*.so files beside the program, in TASKHOST_PLUGIN_PATH or given as plugin "
                                      + "files; the shipped ones are the TaskHost package's library products square, "
                                      + "print, text, ipc and imagefilter: add those you use to your executable "
                                      + "target's dependencies)")) {
            _ = try host.task(named: "square")
        }
    }
}

import Foundation
