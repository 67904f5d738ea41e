import ArgumentParser
import Foundation
import TaskHost

/// The first pass over the command line, before ArgumentParser sees it.
///
/// It does what ArgumentParser alone can't do for this CLI:
/// - an unknown subcommand or option is a usage error naming it (with the
///   closest known name), never data;
/// - a word that starts with `-` is an option unless it is a number
///   (`-5`, `-2.5e3`) or comes after `--`, the only way to pass other such
///   values;
/// - an option's value may start with `-` (`-p -1` reaches the validation
///   and gets a real message, not "missing value");
/// - items (the repeating positional argument of `map`, `apply`, `filter`,
///   `run`) bypass ArgumentParser, whose handling of positional words is
///   quadratic in their number: 20,000 items took 8.7 s.
///
/// Which options exist and which take a value is read from the commands'
/// own declarations (ArgumentParser's description of them), so a new
/// `@Option` or `@Flag` needs nothing here.
struct CommandLineScan {
    /// What ArgumentParser parses: the subcommand, its options, and its
    /// positional arguments up to the first item.
    var arguments: [String]
    /// Every item, when the subcommand takes a list of them; set on the
    /// parsed command (see `TakesItems`).
    var items: [String]?

    /// The option names of one subcommand, by kind.
    struct OptionTable {
        /// Names that take a value: `-p`, `--processes`, …
        var valued: Set<String> = []
        /// Names that take none: `--verbose`, `-h`, …
        var flags: Set<String> = []
        /// How many single positional arguments come before the items (1 for `map`'s task).
        var leadingPositionals = 0
        /// Whether the subcommand ends with a repeating positional (its items).
        var takesItems = false

        var allNames: [String] { (valued.union(flags)).sorted() }
    }

    static func scan(_ argv: [String], root: ParsableCommand.Type) throws -> CommandLineScan {
        guard let first = argv.first, !first.hasPrefix("-") else {
            return CommandLineScan(arguments: argv, items: nil) // --help, --version, completion scripts
        }
        let subcommands = root.configuration.subcommands
        guard let command = subcommands.first(where: { $0._commandName == first }) else {
            if first == "help" { return CommandLineScan(arguments: argv, items: nil) }
            let names = subcommands.map { $0._commandName }
            throw CLIError.usage("unknown subcommand '\(first)'\(suggestion(for: first, among: names))"
                                 + " (subcommands: \(names.joined(separator: ", ")))")
        }
        return try scan(Array(argv.dropFirst()), of: command)
    }

    /// Splits one subcommand's words into options (with their values joined
    /// as `--name=value`), positional arguments and items.
    static func scan(_ words: [String], of command: ParsableCommand.Type) throws -> CommandLineScan {
        let table = optionTable(of: command)
        let name = command._commandName
        var options: [String] = []
        var positionals: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" {
                positionals += words[index...]
                break
            }
            guard word.hasPrefix("-"), word != "-", Double(word) == nil else {
                positionals.append(word)
                continue
            }
            let (label, attached) = splitOption(word, table)
            if table.valued.contains(label) {
                if let attached {
                    options.append(label + "=" + attached)
                } else if index < words.count {
                    options.append(label + "=" + words[index])
                    index += 1
                } else {
                    options.append(label) // ArgumentParser: "missing value for …"
                }
            } else if table.flags.contains(label) {
                options.append(word)
            } else {
                let longNames = table.allNames.filter { $0.hasPrefix("--") }
                var message = "\(name): unknown option '\(label)'"
                    + (label.hasPrefix("--") ? suggestion(for: label, among: longNames) : "")
                if table.takesItems { message += " (a value that starts with '-' goes after '--')" }
                throw CLIError.usage(message)
            }
        }
        guard table.takesItems else {
            return CommandLineScan(arguments: [name] + options + ["--"] + positionals, items: nil)
        }
        // The leading positionals and the first item go through ArgumentParser
        // (so "missing expected argument" and the help stay its own); all the
        // items are set on the command afterwards.
        let leading = positionals.prefix(table.leadingPositionals + 1)
        let items = Array(positionals.dropFirst(table.leadingPositionals))
        return CommandLineScan(arguments: [name] + options + ["--"] + leading, items: items)
    }

    /// `--name=value` → (`--name`, `value`); `-p4` → (`-p`, `4`) when `-p` takes a value.
    private static func splitOption(_ word: String, _ table: OptionTable) -> (String, String?) {
        if let equals = word.firstIndex(of: "=") {
            return (String(word[..<equals]), String(word[word.index(after: equals)...]))
        }
        if !word.hasPrefix("--"), word.count > 2, table.valued.contains(String(word.prefix(2))) {
            return (String(word.prefix(2)), String(word.dropFirst(2)))
        }
        return (word, nil)
    }

    /// The subcommand's options, read from ArgumentParser's description of it.
    static func optionTable(of command: ParsableCommand.Type) -> OptionTable {
        var table = OptionTable()
        table.flags = ["-h", "--help", "--version"]
        guard let json = try? JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8)) as? [String: Any],
              let info = json["command"] as? [String: Any],
              let arguments = info["arguments"] as? [[String: Any]] else { return table }
        for argument in arguments {
            let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { name -> String? in
                guard let text = name["name"] as? String, let kind = name["kind"] as? String else { return nil }
                return (kind == "long" ? "--" : "-") + text
            }
            switch argument["kind"] as? String {
            case "option": table.valued.formUnion(names)
            case "flag": table.flags.formUnion(names)
            case "positional":
                if argument["isRepeating"] as? Bool == true { table.takesItems = true } else { table.leadingPositionals += 1 }
            default: break
            }
        }
        return table
    }

    /// `; did you mean 'map'?` when a known name is close to `word`, else empty.
    static func suggestion(for word: String, among names: [String]) -> String {
        closestName(to: word, among: names).map { "; did you mean '\($0)'?" } ?? ""
    }
}

/// A subcommand whose last positional argument is a list of items (`map`'s
/// values, `filter`'s images): the scan sets them after ArgumentParser has
/// parsed the rest.
protocol TakesItems: ParsableCommand {
    var items: [String] { get set }
}
