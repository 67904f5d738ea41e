"""Python multiprocessing's synchronization and IPC, measured as `taskhost bench`
measures TaskHost's shared objects (the ipc_* rows). Imported by python_baseline.py.
"""
import multiprocessing as mp
import time
from multiprocessing import shared_memory


def report(key, value, unit):
    print(f"{key}\t{value:.6g}\t{unit}", flush=True)


def put_range(queue, count):
    for i in range(count):
        queue.put(i)


def echo(conn, count):
    for _ in range(count):
        conn.send(conn.recv())


def locked_add(value, times):
    for _ in range(times):
        with value.get_lock():
            value.value += 1


def pong(ping, pong_event, count):
    for _ in range(count):
        ping.wait()
        ping.clear()
        pong_event.set()


def view_sum(name, index, parts):
    # Attach by name, read one byte per page of view `index` of `parts`, as ipc.view_sum does.
    block = shared_memory.SharedMemory(name=name)
    try:
        size = block.size // parts
        view = block.buf[size * index:size * (index + 1)]
        total = sum(view[0:size:4096])
        view.release()
        return total
    finally:
        block.close()


def main(quick):
    items = 200_000 if quick else 1_000_000
    queue = mp.Queue()
    producer = mp.Process(target=put_range, args=(queue, items))
    t = time.perf_counter()
    producer.start()
    total = 0
    for _ in range(items):
        total += queue.get()
    report("ipc_queue", items / (time.perf_counter() - t), "items/s")
    producer.join()
    assert total == items * (items - 1) // 2

    rounds = 2_000 if quick else 20_000
    mine, theirs = mp.Pipe()
    worker = mp.Process(target=echo, args=(theirs, rounds))
    worker.start()
    mine.send(0)
    mine.recv()
    t = time.perf_counter()
    for i in range(rounds - 1):
        mine.send(i)
        mine.recv()
    report("ipc_pipe_rtt", (time.perf_counter() - t) / (rounds - 1) * 1e6, "us")
    worker.join()

    lock = mp.Lock()
    count = 1_000_000 if quick else 5_000_000
    t = time.perf_counter()
    for _ in range(count):
        lock.acquire()
        lock.release()
    report("ipc_lock", (time.perf_counter() - t) / count * 1e9, "ns")

    value = mp.Value("q", 0)
    times = 100_000 if quick else 500_000
    workers = [mp.Process(target=locked_add, args=(value, times)) for _ in range(2)]
    t = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    report("ipc_locked_increments", 2 * times / (time.perf_counter() - t), "increments/s")
    assert value.value == 2 * times

    rounds = 1_000 if quick else 5_000
    ping, pong_event = mp.Event(), mp.Event()
    worker = mp.Process(target=pong, args=(ping, pong_event, rounds))
    worker.start()
    t = time.perf_counter()
    for _ in range(rounds):
        ping.set()
        pong_event.wait()
        pong_event.clear()
    report("ipc_event_rtt", (time.perf_counter() - t) / rounds * 1e6, "us")
    worker.join()

    size = 64 << 20
    block = shared_memory.SharedMemory(create=True, size=size)
    try:
        block.buf[0:size:4096] = bytes([3]) * (size // 4096)
        with mp.Pool(2) as pool:
            pool.starmap(view_sum, [(block.name, 0, 8)])  # warm the workers
            t = time.perf_counter()
            sums = pool.starmap(view_sum, [(block.name, i, 8) for i in range(8)])
            report("ipc_shared_64MiB_x8", time.perf_counter() - t, "s")
            assert sums == [3 * 2048] * 8
            data = bytes(size)
            t = time.perf_counter()
            pool.map(len, [data] * 8)
            report("ipc_pickled_64MiB_x8", time.perf_counter() - t, "s")
    finally:
        block.close()
        block.unlink()
