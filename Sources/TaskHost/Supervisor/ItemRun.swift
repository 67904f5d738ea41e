/// An item's arguments: one value (a map, with no array to allocate) or a list.
enum Arguments {
    case one(Value)
    case many([Value])

    /// One value as `.one`, any other number as `.many`.
    init(_ values: [Value]) {
        self = values.count == 1 ? .one(values[0]) : .many(values)
    }

    var values: [Value] {
        switch self {
        case .one(let v): return [v]
        case .many(let list): return list
        }
    }
}

/// One item on its way through the pool.
struct ItemRun {
    let index: Int
    let arguments: Arguments
    var attempts: Int = 0
    /// It finished once but its result died with its worker; it runs again only once.
    var resultLost = false
}

/// `square.square(3)`: the task and the item's arguments, for messages.
func describe(_ task: TaskInfo, _ item: ItemRun) -> String {
    let arguments = item.arguments.values.map { value -> String in
        switch value {
        case .string(let s): return s.count > 60 ? "\"\(s.prefix(57))...\"" : "\"\(s)\""
        default: return value.description
        }
    }
    return "\(task.qualifiedName)(\(arguments.joined(separator: ", ")))"
}
