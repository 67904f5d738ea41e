"""mpi4py.futures on the workloads of `taskhost bench --mpi` (bench/compare.sh's
scale-out section), run by every rank:

    mpirun -np N python -m mpi4py.futures bench/mpi4py_baseline.py [--quick] [--images DIR]

Rank 0 is the master and the other ranks its workers (with one rank,
mpi4py spawns one worker). Prints one line per workload: key, value, unit
(tab-separated).
"""
import glob
import math
import os
import sys
import tempfile
import time

from mpi4py.futures import MPIPoolExecutor


def square(number):
    return number * number


def apply_filter(image_path, output_dir):
    from PIL import Image, ImageFilter
    image = Image.open(image_path)
    filtered = image.filter(ImageFilter.CONTOUR)
    output_path = os.path.join(output_dir, f"filtered_{os.path.basename(image_path)}")
    filtered.save(output_path)
    return output_path


def report(key, value, unit):
    print(f"{key}\t{value:.6g}\t{unit}", flush=True)


def best(rounds, body):
    seconds = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        body()
        seconds = min(seconds, time.perf_counter() - start)
    return seconds


def main():
    quick = "--quick" in sys.argv
    images = sys.argv[sys.argv.index("--images") + 1] if "--images" in sys.argv else None
    rounds = 1 if quick else 3
    count = 100_000 if quick else 1_000_000
    with MPIPoolExecutor() as executor:
        workers = executor.num_workers
        executor.submit(square, 1).result()
        # Python's Pool rule for the chunk size: items / (4 x workers), rounded up.
        chunksize = math.ceil(count / (4 * workers))
        expected = sum(i * i for i in range(1, count + 1))

        def squares():
            assert sum(executor.map(square, range(1, count + 1), chunksize=chunksize)) == expected
        report("mpi_square_map", count / best(rounds, squares), "items/s")

        chunks = 500 if quick else 3000
        seconds = best(1, lambda: list(executor.map(square, range(chunks), chunksize=1)))
        report("mpi_chunk_us", seconds / chunks * 1e6, "us/chunk")
        calls = 200 if quick else 1000
        seconds = best(1, lambda: [executor.submit(square, i).result() for i in range(calls)])
        report("mpi_apply_us", seconds / calls * 1e6, "us/call")

        paths = sorted(glob.glob(os.path.join(images, "photo*.jpg"))) if images else []
        if paths:
            output = tempfile.mkdtemp(prefix="mpi4py-contour-")
            seconds = best(rounds, lambda: list(executor.starmap(apply_filter, [(p, output) for p in paths])))
            report("mpi_contour_images", len(paths) / seconds, "images/s")


if __name__ == "__main__":
    main()
