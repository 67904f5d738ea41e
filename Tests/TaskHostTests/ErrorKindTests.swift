import CTaskHostAPI
import Testing
@testable import TaskHost

/// The error kinds are listed once (TH_ERROR_KINDS in taskhost.h); the Swift
/// kinds and the C enumerators and names all come from that list.
@Suite struct ErrorKindTests {
    @Test func everySwiftKindIsACKindOfTheSameName() {
        let last = th__error_kind_last()
        let cNames = (1...last).map { String(cString: th__error_kind_text($0)) }
        #expect(Set(cNames) == Set(TaskHostError.Kind.allCases.map(\.rawValue)))
        #expect(cNames.count == TaskHostError.Kind.allCases.count)
        for kind in TaskHostError.Kind.allCases {
            #expect(String(cString: th_error_kind_name(kind.cKind)) == kind.rawValue)
        }
        #expect(TaskHostError.Kind.crashed.cKind == TH_ERR_CRASHED)
        #expect(TaskHostError.Kind.sandboxViolation.cKind == TH_ERR_SANDBOX_VIOLATION)
        #expect(String(cString: th_error_kind_name(TH_OK)) == "ok")
        #expect(String(cString: th_error_kind_name(th_error_kind(rawValue: 99))) == "unknown")
    }
}
