import CTaskHostAPI

extension Sandbox {
    /// A `th_sandbox` from C, its paths copied; nil for NULL.
    static func fromC(_ sandbox: UnsafePointer<th_sandbox>?) throws -> Sandbox? {
        guard sandbox != nil else { return nil }
        var defaults = th_sandbox()
        th_sandbox_init(&defaults)
        let s = try readOptions(sandbox, defaults: defaults, name: "th_sandbox")
        func paths(_ list: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int, _ field: String) throws -> [String] {
            guard count > 0 else { return [] }
            guard let list else { throw nullArgument("th_sandbox.\(field) (with a count of \(count))") }
            return try (0..<count).map { i in
                guard let path = list[i] else { throw nullArgument("th_sandbox.\(field)[\(i)]") }
                return String(cString: path)
            }
        }
        return Sandbox(allowRead: try paths(s.allow_read, s.allow_read_count, "allow_read"),
                       allowWrite: try paths(s.allow_write, s.allow_write_count, "allow_write"))
    }
}
