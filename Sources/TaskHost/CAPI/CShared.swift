import CTaskHostAPI
import Foundation

// th_host_share / th_shared_free (include/taskhost/taskhost.h): the C handle
// is the object's own th_shared handle, so shared.h's inline functions work
// on it directly; the Swift object stays alive in `live` until freed.

/// The objects C callers hold, by handle address.
private final class LiveSharedObjects: @unchecked Sendable { // `objects` is guarded by `lock`
    let lock = NSLock()
    var objects: [UnsafeMutableRawPointer: SharedObject] = [:]
}

private let live = LiveSharedObjects()

@c(th_host_share) @usableFromInline
func th_host_share_(_ host: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ spec: UnsafePointer<CChar>?,
                    _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    catching(error, failure: nil) {
        guard let h = box(host, as: HostBox.self) else { throw nullArgument("host") }
        guard let name else { throw nullArgument("name") }
        guard let spec else { throw nullArgument("spec") }
        let object = try h.host.share(String(cString: name), String(cString: spec))
        let raw = UnsafeMutableRawPointer(object.handle)
        live.lock.lock()
        live.objects[raw] = object
        live.lock.unlock()
        return OpaquePointer(raw)
    }
}

@c(th_shared_free) @usableFromInline
func th_shared_free_(_ object: OpaquePointer?) {
    guard let object else { return }
    live.lock.lock()
    let released = live.objects.removeValue(forKey: UnsafeMutableRawPointer(object))
    live.lock.unlock()
    withExtendedLifetime(released) {}
}
