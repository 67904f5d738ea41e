// A plugin written in Swift: text tasks exported through the C ABI.
import TaskHostPluginKit

private let upper: @convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? = { text in
    mallocString(String(cString: text!).uppercased())
}

private let wordCount: @convention(c) (UnsafePointer<CChar>?) -> Int64 = { text in
    Int64(String(cString: text!).split(whereSeparator: { $0.isWhitespace }).count)
}

private let reverse: @convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? = { text in
    mallocString(String(String(cString: text!).reversed()))
}

private let repeatText: @convention(c) (UnsafeMutablePointer<th_context>?, UnsafePointer<CChar>?, Int32)
    -> UnsafeMutablePointer<CChar>? = { context, text, times in
    guard times >= 0 else {
        th_set_error(context, "times must be 0 or more, got \(times)")
        return nil
    }
    return mallocString(String(repeating: String(cString: text!), count: Int(times)))
}

private let plugin = PluginDescriptor(
    name: "text", version: "1.0.0", summary: "Text tasks, written in Swift",
    tasks: [
        TaskSpec("upper", summary: "the text in upper case", parameters: [("text", TH_STRING)],
                 result: TH_STRING, function: upper),
        TaskSpec("word_count", summary: "how many whitespace-separated words", parameters: [("text", TH_STRING)],
                 result: TH_INT64, function: wordCount),
        TaskSpec("reverse", summary: "the text backwards, by character", parameters: [("text", TH_STRING)],
                 result: TH_STRING, function: reverse),
        TaskSpec("repeat", summary: "the text repeated; an error for a negative count",
                 parameters: [("text", TH_STRING), ("times", TH_INT32)], result: TH_STRING, usesContext: true,
                 function: repeatText),
    ])

/// The plugin's entry: the one symbol the host looks for.
@c(taskhost_plugin_entry)
public func taskhostPluginEntry() -> UnsafePointer<th_plugin> { plugin.pointer }
