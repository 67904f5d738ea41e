import CTaskHostAPI

/// TaskHost's version, "MAJOR.MINOR.PATCH": the C API's `TH_VERSION_STRING`
/// and `th_version()`, and what `taskhost --version` prints.
public let taskHostVersion: String = TH_VERSION_STRING
