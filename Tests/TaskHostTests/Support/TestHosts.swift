import TaskHost
import TestSupport

/// Hosts for the suites. Each suite makes its own (its fork server's
/// children are then its own workers only, which several suites count).
enum TestHosts {
    /// A new host with the shipped plugins and the test-only `faulty` plugin.
    static func withFaulty() -> PluginHost {
        try! PluginHost(pluginFiles: [TestSupport.faultyPlugin])
    }
}
