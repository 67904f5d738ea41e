import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension TestSupport {
    /// The test-only plugin that tries to leave the sandbox (Tests/Plugins/escape).
    public static let escapePlugin: String = {
        try! buildPlugin(repositoryRoot + "/Tests/Plugins/escape/escape.c", name: "escape", extraFlags: ["-lpthread"])
    }()
}

/// A TCP listener on 127.0.0.1, on a port the kernel picks, for tests that
/// connect to it; closed when released. Connections complete in its backlog.
public final class LocalTCPListener {
    public let fd: Int32
    /// The port it listens on.
    public let port: UInt16

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = fd >= 0 && withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard listening else {
            if fd >= 0 { close(fd) }
            throw NSError(domain: "TestSupport", code: 2, userInfo: [NSLocalizedDescriptionKey: "cannot listen on 127.0.0.1"])
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}
