/// The checks every numeric option of the Swift API (and, through it, the
/// C API) goes through: NaN, infinities, negatives and values too large to
/// use become `invalidArgument` with one clear line, never a trap.
enum OptionChecks {
    /// The most retries an item may be given.
    static let maxRetries = 1_000_000

    /// A count that must be at least 1 (processes, chunksize, maxTasksPerChild, backlog).
    static func positiveCount(_ value: Int?, _ name: String) throws -> Int? {
        guard let value else { return nil }
        guard value >= 1 else { throw TaskHostError(.invalidArgument, "\(name) must be at least 1, got \(value)") }
        return value
    }

    /// Seconds one item may run: positive; infinity means no limit (nil).
    static func timeout(_ seconds: Double?, _ name: String) throws -> Double? {
        guard let seconds else { return nil }
        guard !seconds.isNaN else { throw TaskHostError(.invalidArgument, "\(name) must be a number of seconds, got nan") }
        guard seconds > 0 else { throw TaskHostError(.invalidArgument, "\(name) must be positive, got \(format(seconds))") }
        return seconds.isInfinite ? nil : seconds
    }

    /// Seconds a call may take: infinity and NaN mean no deadline (nil);
    /// a negative deadline is now (0). Never throws today; callers keep `try`
    /// so a stricter rule stays one place.
    static func deadline(_ seconds: Double?) throws -> Double? {
        guard let seconds, !seconds.isNaN, !seconds.isInfinite else { return nil }
        return max(0, seconds)
    }

    static func retries(_ value: Int) throws -> Int {
        guard value >= 0 else { throw TaskHostError(.invalidArgument, "retries must be 0 or more, got \(value)") }
        guard value <= maxRetries else {
            throw TaskHostError(.invalidArgument, "retries must be at most \(maxRetries), got \(value)")
        }
        return value
    }

    /// The monotonic time `seconds` from now, saturating far in the future.
    static func absoluteTime(after seconds: Double, from now: UInt64 = monotonicNanoseconds()) -> UInt64 {
        let nanoseconds = seconds * 1e9
        guard nanoseconds < Double(UInt64.max - now) else { return .max }
        return now + UInt64(max(0, nanoseconds))
    }

    /// `1.5`, `-1`, `inf`: a number as the caller wrote it.
    static func format(_ value: Double) -> String {
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return formatSeconds(value)
    }
}
