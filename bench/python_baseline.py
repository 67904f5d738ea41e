"""Python multiprocessing (and Pillow) on the same workloads as `taskhost bench`.

Prints one line per workload: key, value, unit (tab-separated).
Usage: python_baseline.py [--quick] [--images DIR] [--square-only] [--filters-only]
(--filters-only: only each filter alone on the first image of DIR, the `filter_*` lines)
"""
import multiprocessing as mp
import os
import sys
import time


def square(number):
    return number ** 2


def noop():
    pass


def apply_filter(image_path, filter_type, output_dir):
    from PIL import Image
    image = Image.open(image_path)
    filtered = image.filter(filter_type)
    output_path = os.path.join(output_dir, f"filtered_{os.path.basename(image_path)}")
    filtered.save(output_path)
    return output_path


def report(key, value, unit):
    print(f"{key}\t{value:.6g}\t{unit}", flush=True)


def main():
    quick = "--quick" in sys.argv
    images = sys.argv[sys.argv.index("--images") + 1] if "--images" in sys.argv else None
    items = 1_000_000 if quick else 10_000_000
    if "--filters-only" in sys.argv:
        filter_speeds(images, quick)
        return

    with mp.Pool(2) as pool:
        pool.map(square, range(10))
        t = time.perf_counter()
        total = sum(pool.map(square, range(1, items + 1)))
        report("square_map", items / (time.perf_counter() - t), "items/s")
        if "--square-only" in sys.argv:
            return
        assert total == sum(i * i for i in range(1, 1001)) or items != 1000
        calls = 2000 if quick else 10000
        t = time.perf_counter()
        for i in range(calls):
            pool.apply_async(square, (i,)).get()
        report("apply_us", (time.perf_counter() - t) / calls * 1e6, "us/call")

    import python_ipc
    python_ipc.main(quick)

    count = 50 if quick else 200
    t = time.perf_counter()
    for _ in range(count):
        p = mp.Process(target=noop)
        p.start()
        p.join()
    report("process_ms", (time.perf_counter() - t) / count * 1e3, "ms")

    if images:
        try:
            from PIL import Image, ImageFilter
        except ImportError:
            return
        paths = sorted(os.path.join(images, n) for n in os.listdir(images) if n.endswith(".jpg"))
        out = os.path.join(images, "pillow-out")
        os.makedirs(out, exist_ok=True)
        with mp.Pool() as pool:
            best = float("inf")
            for _ in range(1 if quick else 3):  # best of 3, as taskhost bench does
                t = time.perf_counter()
                pool.starmap(apply_filter, [(p, ImageFilter.CONTOUR, out) for p in paths])
                best = min(best, time.perf_counter() - t)
            report("contour_images", len(paths) / best, "images/s")
        filter_speeds(images, quick)


SPEED_SECONDS = 0.5


def filter_speeds(images, quick):
    """Each filter alone, on one core, over the first image of `images` (as taskhost bench's filter rows)."""
    from PIL import Image, ImageFilter
    paths = sorted(os.path.join(images, n) for n in os.listdir(images) if n.endswith(".jpg"))
    image = Image.open(paths[0])
    image.load()
    filters = {
        "BLUR": ImageFilter.BLUR, "CONTOUR": ImageFilter.CONTOUR, "DETAIL": ImageFilter.DETAIL,
        "EDGE_ENHANCE": ImageFilter.EDGE_ENHANCE, "EDGE_ENHANCE_MORE": ImageFilter.EDGE_ENHANCE_MORE,
        "EMBOSS": ImageFilter.EMBOSS, "FIND_EDGES": ImageFilter.FIND_EDGES, "SHARPEN": ImageFilter.SHARPEN,
        "SMOOTH": ImageFilter.SMOOTH, "SMOOTH_MORE": ImageFilter.SMOOTH_MORE,
        "GaussianBlur(2)": ImageFilter.GaussianBlur(2), "BoxBlur(2)": ImageFilter.BoxBlur(2),
        "UnsharpMask(2,150,3)": ImageFilter.UnsharpMask(2, 150, 3), "MedianFilter(3)": ImageFilter.MedianFilter(3),
        "MinFilter(3)": ImageFilter.MinFilter(3), "MaxFilter(3)": ImageFilter.MaxFilter(3),
        "ModeFilter(3)": ImageFilter.ModeFilter(3),
    }
    megapixels = image.width * image.height / 1e6
    # As the plugin's filter_speed: one untimed round, then timed rounds until
    # there are at least `least` and (but with --quick) SPEED_SECONDS of them.
    for name, f in filters.items():
        least = 1 if quick or "Median" in name or "Mode" in name or "Min" in name or "Max" in name else 3
        image.filter(f)
        rounds, start = 0, time.perf_counter()
        while rounds < least or (not quick and time.perf_counter() - start < SPEED_SECONDS):
            image.filter(f)
            rounds += 1
        report(f"filter_{name}", megapixels * rounds / (time.perf_counter() - start), "Mpx/s")


if __name__ == "__main__":
    main()
