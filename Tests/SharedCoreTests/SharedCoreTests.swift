import CTaskHostShared
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The C core of shared objects in one process (threads stand in for
/// processes; `th__shared_repair` with this process's pid stands in for the
/// host repairing after a death). Cross-process behaviour is in SharedObjectTests.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SharedCoreTests {
    /// Creates `spec` named `name`; closes it and its memfd at the end of the test.
    final class Object: @unchecked Sendable {
        let handle: UnsafeMutablePointer<th_shared>
        let fd: Int32
        init(_ name: String, _ text: String) throws {
            var spec = th_shared_spec()
            var error = [CChar](repeating: 0, count: 256)
            guard th__shared_parse_spec(text, &spec, &error, 256) == 0 else {
                throw TestFailure(cText(error))
            }
            var fd: Int32 = -1
            guard let h = th__shared_create(name, &spec, &fd, &error, 256) else { throw TestFailure(cText(error)) }
            handle = h
            self.fd = fd
        }
        deinit { th__shared_close(handle); close(fd) }
    }

    /// What this test made: freed when the suite instance (one per test) goes.
    final class Made: @unchecked Sendable { var objects: [Object] = [] }
    let made = Made()

    /// A new object that lives until the test ends.
    func make(_ name: String, _ text: String) throws -> UnsafeMutablePointer<th_shared> {
        let object = try Object(name, text)
        made.objects.append(object)
        return object.handle
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    func parse(_ text: String) -> String {
        var spec = th_shared_spec()
        var out = [CChar](repeating: 0, count: 512)
        if th__shared_parse_spec(text, &spec, &out, 512) != 0 { return "error: " + cText(out) }
        th__shared_format_spec(&spec, &out, 512)
        return cText(out)
    }

    @Test func specsParseToTheirCanonicalText() {
        #expect(parse("queue:1024") == "queue:1024:256")
        #expect(parse("queue") == "queue:1024:256")
        #expect(parse("pipe::") == "error: bad shared object spec 'pipe::': pipe [:CAPACITY[:ITEM_SIZE]] (2 to 16777216 items, default 1024 for a queue and 64 for a pipe; 8 bytes to 64M each, default 256)")
        #expect(parse("queue:16:4K") == "queue:16:4096")
        #expect(parse("semaphore:3") == "semaphore:3")
        #expect(parse("bounded_semaphore") == "bounded_semaphore:1")
        #expect(parse("barrier:3") == "barrier:3")
        #expect(parse("value") == "value:int64:0")
        #expect(parse("value:double:1.5") == "value:double:1.5")
        #expect(parse("value:uint64:18446744073709551615") == "value:uint64:18446744073709551615")
        #expect(parse("array:int32:10") == "array:int32:10")
        #expect(parse("buffer:64M") == "buffer:67108864")
        #expect(parse("lock") == "lock")
        #expect(parse("lock:2") == "error: bad shared object spec 'lock:2': lock takes no parameters")
        #expect(parse("barrier") == "error: bad shared object spec 'barrier': barrier :PARTIES (1 to 4096)")
        #expect(parse("queue:1") .hasPrefix("error: bad shared object spec 'queue:1'"))
        #expect(parse("value:int32") == "error: bad shared object spec 'value:int32': value [:int64|uint64|double[:INITIAL]] (default int64, 0)")
        #expect(parse("mutex") == "error: unknown shared object kind 'mutex' (lock, rlock, semaphore, bounded_semaphore, event, condition, barrier, queue, pipe, value, array, buffer)")
        #expect(th__shared_valid_name("jobs-1.a_b") == 1)
        #expect(th__shared_valid_name("a/b") == 0)
        #expect(th__shared_valid_name("") == 0)
    }

    @Test func aLockIsOwnedAndReportsItsDeadOwner() throws {
        let lock = try Object("l", "lock")
        let l = lock.handle
        #expect(th_lock_acquire(l, -1) == TH_SHARED_OK.rawValue)
        #expect(th_lock_acquire(l, -1) == TH_SHARED_WOULD_DEADLOCK.rawValue)
        let other = Thread.detachNewThreadAndWait {
            (th_lock_acquire(l, 0.05), th_lock_release(l))
        }
        #expect(other.0 == TH_SHARED_TIMEOUT.rawValue)
        #expect(other.1 == TH_SHARED_NOT_OWNER.rawValue)
        #expect(th_lock_release(l) == TH_SHARED_OK.rawValue)
        // A thread that ends holding it: the next owner is told.
        _ = Thread.detachNewThreadAndWait { th_lock_acquire(l, -1) }
        #expect(th_lock_acquire(l, 1) == TH_SHARED_OWNER_DIED.rawValue)
        #expect(th_lock_release(l) == TH_SHARED_OK.rawValue)
        #expect(th_lock_acquire(l, 0) == TH_SHARED_OK.rawValue)
        #expect(th_lock_release(l) == TH_SHARED_OK.rawValue)
    }

    @Test func anRLockCounts() throws {
        let r = try make("r", "rlock")
        #expect(th_lock_acquire(r, -1) == 0)
        #expect(th_lock_acquire(r, -1) == 0)
        #expect(th_lock_release(r) == 0)
        #expect(Thread.detachNewThreadAndWait { th_lock_acquire(r, 0) } == TH_SHARED_TIMEOUT.rawValue)
        #expect(th_lock_release(r) == 0)
        #expect(th_lock_release(r) == TH_SHARED_NOT_OWNER.rawValue)
    }

    @Test func aSemaphoreCountsAndGetsADeadHoldersUnitsBack() throws {
        let s = try make("s", "semaphore:2")
        #expect(th_semaphore_acquire(s, 0) == 0)
        #expect(th_semaphore_acquire(s, 0) == 0)
        #expect(th_semaphore_value(s) == 0)
        #expect(th_semaphore_acquire(s, 0.02) == TH_SHARED_TIMEOUT.rawValue)
        // The host's repair for this process's pid gives both units back.
        #expect(th__shared_repair(s, getpid()) == 1)
        #expect(th_semaphore_value(s) == 2)
        // A waiter is woken by a release from elsewhere.
        #expect(th_semaphore_acquire(s, 0) == 0)
        #expect(th_semaphore_acquire(s, 0) == 0)
        let waiter = Thread.detachNewThreadAndReturn { th_semaphore_acquire(s, 5) }
        usleep(20_000)
        #expect(th_semaphore_release(s) == 0)
        #expect(waiter.value() == 0)
        let b = try make("b", "bounded_semaphore:1")
        #expect(th_semaphore_release(b) == TH_SHARED_OVERFLOW.rawValue)
        #expect(th_semaphore_acquire(b, 0) == 0)
        #expect(th_semaphore_release(b) == 0)
        #expect(th_semaphore_value(b) == 1)
    }

    @Test func anEventWakesEveryWaiter() throws {
        let e = try make("e", "event")
        #expect(th_event_wait(e, 0.02) == TH_SHARED_TIMEOUT.rawValue)
        let waiters = (0..<3).map { _ in Thread.detachNewThreadAndReturn { th_event_wait(e, 5) } }
        usleep(30_000)
        #expect(th_event_set(e) == 0)
        #expect(waiters.map { $0.value() } == [0, 0, 0])
        #expect(th_event_is_set(e) == 1)
        #expect(th_event_clear(e) == 0)
        #expect(th_event_is_set(e) == 0)
    }

    @Test func aConditionNotifies() throws {
        let c = try make("c", "condition")
        let flag = try make("flag", "value")
        let waiter = Thread.detachNewThreadAndReturn { () -> Int64 in
            _ = th_lock_acquire(c, -1)
            while th_value_load_int64(flag) == 0 { _ = th_condition_wait(c, 5) }
            let seen = th_value_load_int64(flag)
            _ = th_lock_release(c)
            return seen
        }
        usleep(20_000)
        #expect(th_lock_acquire(c, -1) == 0)
        th_value_store_int64(flag, 42)
        #expect(th_condition_notify(c, 1) == 0)
        #expect(th_lock_release(c) == 0)
        #expect(waiter.value() == 42)
        #expect(th_lock_acquire(c, -1) == 0)
        #expect(th_condition_wait(c, 0.02) == TH_SHARED_TIMEOUT.rawValue)
        #expect(th_lock_release(c) == 0)
    }

    @Test func aBarrierPassesAndBreaksWhenAWaitingPartyDies() throws {
        let b = try make("b", "barrier:3")
        let parties = (0..<3).map { _ in Thread.detachNewThreadAndReturn { th_barrier_wait(b, 5) } }
        #expect(Set(parties.map { $0.value() }) == [0, 1, 2])
        let waiter = Thread.detachNewThreadAndReturn { th_barrier_wait(b, 5) }
        usleep(30_000)
        #expect(th__shared_repair(b, getpid()) == 1)
        #expect(waiter.value() == TH_SHARED_BROKEN.rawValue)
        #expect(th_barrier_broken_by(b) == getpid())
        #expect(th_barrier_wait(b, 1) == TH_SHARED_BROKEN.rawValue)
        #expect(th_barrier_reset(b) == 0)
        #expect(th_barrier_broken_by(b) == 0)
        // A timeout breaks it for the others, as Python's.
        let other = Thread.detachNewThreadAndReturn { th_barrier_wait(b, 5) }
        #expect(th_barrier_wait(b, 0.05) == TH_SHARED_TIMEOUT.rawValue)
        #expect(other.value() == TH_SHARED_BROKEN.rawValue)
    }

    @Test func aQueueKeepsOrderTypesAndLimits() throws {
        let q = try make("q", "queue:4:16")
        for v in Int64(1)...4 { #expect(th_queue_put_int64(q, v, 0) == 0) }
        #expect(th_queue_put_int64(q, 5, 0.01) == TH_SHARED_TIMEOUT.rawValue)
        #expect(th_queue_count(q) == 4)
        var v: Int64 = 0
        for expected in Int64(1)...4 {
            #expect(th_queue_get_int64(q, &v, 0) == 0)
            #expect(v == expected)
        }
        #expect(th_queue_get_int64(q, &v, 0.01) == TH_SHARED_TIMEOUT.rawValue)
        let text = Array("0123456789abcdefg".utf8)
        #expect(th_queue_put(q, UInt32(TH_BYTES.rawValue), text, 17, 0) == TH_SHARED_TOO_BIG.rawValue)
        #expect(th_queue_put(q, UInt32(TH_STRING.rawValue), text, 16, 0) == 0)
        var small = [UInt8](repeating: 0, count: 8)
        var type: UInt32 = 0
        var length = 0
        #expect(th_queue_get(q, &type, &small, 8, &length, 0) == TH_SHARED_SMALL_BUFFER.rawValue)
        #expect(length == 16)
        var big = [UInt8](repeating: 0, count: 64)
        #expect(th_queue_get(q, &type, &big, 64, &length, 0) == 0)
        #expect(type == UInt32(TH_STRING.rawValue) && Array(big.prefix(length)) == Array(text.prefix(16)))
    }

    @Test func aDeadProducersSlotIsDroppedAndADeadConsumersFreed() throws {
        let q = try make("q", "queue:4:16")
        var slot = th_queue_slot()
        // A producer that claimed a slot and "died" before its commit.
        #expect(th_queue_put_begin(q, UInt32(TH_INT64.rawValue), 8, &slot, 0) == 0)
        #expect(th_queue_put_int64(q, 7, 0) == 0)
        var v: Int64 = 0
        #expect(th_queue_get_int64(q, &v, 0.02) == TH_SHARED_TIMEOUT.rawValue) // the uncommitted slot is first
        #expect(th__shared_repair(q, getpid()) == 1)
        #expect(th_queue_get_int64(q, &v, 0) == 0)
        #expect(v == 7)
        // A consumer that took an item in place and "died" before freeing it.
        for i in Int64(0)..<4 { #expect(th_queue_put_int64(q, i, 0) == 0) }
        #expect(th_queue_get_begin(q, &slot, 0) == 0)
        #expect(th_queue_put_int64(q, 9, 0) == TH_SHARED_TIMEOUT.rawValue)
        #expect(th__shared_repair(q, getpid()) == 1)
        #expect(th_queue_put_int64(q, 9, 0) == 0)
        var got: [Int64] = []
        while th_queue_get_int64(q, &v, 0) == 0 { got.append(v) }
        #expect(got == [1, 2, 3, 9])
    }

    @Test func aPipeCarriesEachWay() throws {
        let p = try make("p", "pipe:8")
        var x: Int64 = 5
        #expect(th_pipe_send(p, 0, UInt32(TH_INT64.rawValue), &x, 8, 0) == 0)
        var type: UInt32 = 0
        var length = 0
        var y: Int64 = 0
        #expect(th_pipe_recv(p, 0, &type, &y, 8, &length, 0) == TH_SHARED_TIMEOUT.rawValue)
        #expect(th_pipe_recv(p, 1, &type, &y, 8, &length, 0) == 0)
        #expect(y == 5)
        #expect(th_pipe_send(p, 1, UInt32(TH_INT64.rawValue), &x, 8, 0) == 0)
        #expect(th_pipe_recv(p, 0, &type, &y, 8, &length, 0) == 0)
        #expect(th_pipe_send(p, 2, 0, &x, 8, 0) == TH_SHARED_WRONG_KIND.rawValue)
    }

    @Test func valuesArraysAndBuffersAreTheSameMemoryEverywhere() throws {
        let value = try Object("v", "value:int64:40")
        #expect(th_value_add_int64(value.handle, 2) == 42)
        var error = [CChar](repeating: 0, count: 256)
        let again = try #require(th__shared_map(value.fd, &error, 256))
        defer { th__shared_close(again) }
        #expect(th_value_load_int64(again) == 42)
        #expect(String(cString: th_shared_name(again)) == "v")
        var expected: UInt64 = 42
        #expect(th_value_compare_exchange(again, &expected, 7) == 1)
        #expect(th_value_load_int64(value.handle) == 7)
        let d = try make("d", "value:double:0.5")
        #expect(th_value_add_double(d, 0.25) == 0.75)
        let array = try make("a", "array:int32:10")
        var length = 0
        let data = try #require(th_shared_data(array, &length))
        #expect(length == 40)
        #expect(th_shared_element_type(array) == UInt32(TH_INT32.rawValue))
        data.assumingMemoryBound(to: Int32.self)[9] = -3
        let buffer = try make("buf", "buffer:1M")
        let bytes = try #require(th_shared_data(buffer, &length))
        #expect(length == 1 << 20)
        #expect(Int(bitPattern: bytes) % 4096 == 0)
        #expect(th_lock_acquire(buffer, 0) == TH_SHARED_WRONG_KIND.rawValue)
    }

    @Test func manyProducersAndConsumersLoseAndDuplicateNothing() throws {
        let q = try make("q", "queue:64:8")
        let producers = 4, consumers = 3, perProducer = 50_000
        let done = try make("done", "value")
        let producing = (0..<producers).map { p in
            Thread.detachNewThreadAndReturn { () -> Int32 in
                for i in 0..<perProducer { if th_queue_put_int64(q, Int64(p * perProducer + i), 10) != 0 { return -1 } }
                return 0
            }
        }
        let consuming = (0..<consumers).map { _ in
            Thread.detachNewThreadAndReturn { () -> [Int64] in
                var got: [Int64] = []
                var v: Int64 = 0
                while th_value_load_int64(done) == 0 || th_queue_count(q) > 0 {
                    if th_queue_get_int64(q, &v, 0.01) == 0 { got.append(v) }
                }
                return got
            }
        }
        #expect(producing.map { $0.value() } == Array(repeating: 0, count: producers))
        th_value_store_int64(done, 1)
        let all = consuming.flatMap { $0.value() }
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == all.count)
    }
}

extension Thread {
    /// Runs `body` on a new thread and waits for its result.
    static func detachNewThreadAndWait<T>(_ body: @escaping () -> T) -> T {
        detachNewThreadAndReturn(body).value()
    }

    /// Runs `body` on a new thread; `value()` waits for its result.
    static func detachNewThreadAndReturn<T>(_ body: @escaping () -> T) -> Pending<T> {
        let pending = Pending<T>()
        let box = Box(body)
        Thread.detachNewThread { pending.set(box.body()) }
        return pending
    }
}

/// A closure handed to another thread: the tests pass shared-object
/// pointers, which are made for exactly that.
final class Box<T>: @unchecked Sendable {
    let body: () -> T
    init(_ body: @escaping () -> T) { self.body = body }
}

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
