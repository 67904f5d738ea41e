#!/usr/bin/env bash
# Runs TaskHost's benchmark and its anchors side by side, in one run, on the
# same inputs, and prints each ratio. Usage: bench/compare.sh [--quick]
#   - TaskHost: .build/release/taskhost bench (built here with -c release)
#   - a raw C fork + pipe loop (bench/raw_pipe.c), the limit for tiny tasks,
#     and a raw C fork + exit + waitpid loop with the same plugins loaded
#     (bench/raw_fork.c), the floor for a process's start + join
#   - Python multiprocessing (its Queue, Pipe, Lock, Value, Event and
#     shared_memory too: bench/python_ipc.py), and Pillow + Pool().starmap for the images
#     (Pillow installed from PyPI into bench/.venv)
#   - libvips's command line (Debian libvips-tools), if installed: CONTOUR's
#     kernel with `vips conv` over the same JPEGs, two at a time (xargs -P 2)
#   - scale-out, when Open MPI is installed (openmpi-bin, libopenmpi-dev):
#     `taskhost bench --mpi` (built with the package trait MPI, -p 1 per rank)
#     against mpi4py.futures (installed from PyPI into bench/.venv), with 1, 2
#     and 3 ranks on this machine (bench/mpi4py_baseline.py)
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
ITEMS=10000000
[ -n "$QUICK" ] && ITEMS=1000000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

swift build -c release >/dev/null
cc -O2 -o "$WORK/raw_pipe" bench/raw_pipe.c
cc -O2 -o "$WORK/raw_fork" bench/raw_fork.c -ldl

if [ ! -x bench/.venv/bin/python ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet pillow
fi

echo "== TaskHost" >&2
.build/release/taskhost bench $QUICK --tsv --workdir "$WORK/images" > "$WORK/taskhost.tsv"
echo "== raw C fork + pipe" >&2
"$WORK/raw_pipe" "$ITEMS" 2 > "$WORK/raw.tsv" 2>/dev/null
echo "== Python multiprocessing + Pillow" >&2
bench/.venv/bin/python bench/python_baseline.py $QUICK --images "$WORK/images" > "$WORK/python.tsv"
: > "$WORK/vips.tsv"
if command -v vips >/dev/null; then
    echo "== libvips (vips conv)" >&2
    printf '3 3 1 255\n-1 -1 -1\n-1 8 -1\n-1 -1 -1\n' > "$WORK/contour.mat"
    mkdir -p "$WORK/vips"
    images=("$WORK"/images/photo*.jpg)
    start=$(date +%s.%N)
    printf '%s\n' "${images[@]}" | xargs -P 2 -I{} sh -c \
        'vips conv "$1" "$2/$(basename "$1")" "$3" --precision integer' _ {} "$WORK/vips" "$WORK/contour.mat"
    end=$(date +%s.%N)
    python3 -c "print('contour_images\t%f\timages/s' % (${#images[@]} / ($end - $start)))" > "$WORK/vips.tsv"
fi

python3 - "$WORK" <<'PY'
import sys
sys.path.insert(0, "bench")
import tsv
work = sys.argv[1]
def load(name):
    return tsv.load(f"{work}/{name}.tsv")
th, raw, py, vips = load("taskhost"), load("raw"), load("python"), load("vips")
print(f"{'workload':44} {'TaskHost':>14} {'baseline':>14}  TaskHost's speed / the baseline's")
def line(name, key, base, base_key, higher_better=True, label="Python"):
    if key not in th or base_key not in base:
        return
    a, unit = th[key]
    b, _ = base[base_key]
    ratio = a / b if higher_better else b / a
    print(f"{name:44} {a:>14.4g} {b:>14.4g}  {ratio:6.2f}x  vs {label} ({unit})")
line("square map items/s", "square_map", raw, "raw_pipe_map", label="raw C pipes")
line("square map items/s", "square_map", py, "square_map")
line("square map as Values items/s", "square_values", py, "square_map")
line("square imap, Values streamed, items/s", "square_stream", py, "square_map")
line("apply round trip", "apply_us", py, "apply_us", higher_better=False)
line("process start + join", "process_ms", py, "process_ms", higher_better=False)
line("CONTOUR, photo JPEGs, images/s", "contour_images", py, "contour_images", label="Pillow + Pool")
line("CONTOUR, photo JPEGs, images/s", "contour_images", vips, "contour_images", label="vips conv, xargs -P 2")
line("ipc_queue: producer process -> host, items/s", "ipc_queue", py, "ipc_queue")
line("ipc_pipe_rtt: pipe round trip", "ipc_pipe_rtt", py, "ipc_pipe_rtt", higher_better=False)
line("ipc_lock: acquire + release", "ipc_lock", py, "ipc_lock", higher_better=False)
line("ipc_locked_increments: 2 workers, /s", "ipc_locked_increments", py, "ipc_locked_increments")
line("ipc_event_rtt: event ping-pong", "ipc_event_rtt", py, "ipc_event_rtt", higher_better=False)
line("ipc_shared_64MiB_x8: 8 views, pool of 2", "ipc_shared_64MiB_x8", py, "ipc_shared_64MiB_x8", higher_better=False)
line("ipc_shared_64MiB_x8 vs pickling 8 x 64 MiB", "ipc_shared_64MiB_x8", py, "ipc_pickled_64MiB_x8", higher_better=False,
     label="Python Pool.map of the bytes")
for key in sorted(k for k in th if k.startswith("filter_")):
    line(key[7:] + " Mpx/s (1 core)", key, py, key, label="Pillow")
line("CONTOUR sandboxed, images/s", "contour_sandboxed_images", th, "contour_images", label="unsandboxed")
line("process start + join, sandboxed", "process_sandboxed_ms", th, "process_ms", higher_better=False, label="unsandboxed")
for key in ("sandbox_start_us", "codec_images", "rss_host_mib", "rss_stream_growth_mib", "rss_worker_mib"):
    if key in th:
        print(f"{key:44} {th[key][0]:>14.4g} {'':>14}  ({th[key][1]})")
if "contour_images" in th and "codec_images" in th:
    print(f"{'filtering adds, over decode + encode alone':44} {(th['codec_images'][0] / th['contour_images'][0] - 1) * 100:>13.0f}%")
PY

# Scale-out: the same ranks for TaskHost (each rank a pool of one worker) and
# mpi4py.futures (rank 0 its master, the others its workers; one rank spawns one).
# The [Value] square map and Python's Pool.map again, alternating, a few
# rounds: on a machine loaded by other work, one pair of runs can land on a
# busy and a quiet moment; the median of the rounds' ratios does not.
ROUNDS=7
[ -n "$QUICK" ] && ROUNDS=3
echo "== [Value] square map and Python's Pool.map, alternating, $ROUNDS rounds" >&2
for _ in $(seq "$ROUNDS"); do
    .build/release/taskhost bench $QUICK --only square_values --tsv | grep -v rss_ >> "$WORK/values_rounds.tsv"
    bench/.venv/bin/python bench/python_baseline.py $QUICK --square-only >> "$WORK/values_rounds.tsv"
done
python3 - "$WORK/values_rounds.tsv" <<'PY'
import statistics, sys
sys.path.insert(0, "bench")
import tsv
rounds = tsv.rounds(sys.argv[1])
summary = tsv.alternating(rounds, "square_values", "square_map")
if summary:
    count, median, each, ours, python = summary
    print()
    print(f"square map as Values, {count} rounds alternating with Python: median {median:.2f}x "
          f"(rounds: {each}; TaskHost median {ours:.4g} items/s, Python {python:.4g})")
if rounds.get("values_result_array"):
    print(f"  its [TaskResult] alone, written, read and freed: median {statistics.median(rounds['values_result_array']):.4g} items/s")
PY

# Process start + join against its floor, a raw C fork + _exit + waitpid loop
# with the same plugins loaded, alternating, the same rounds: the median of the
# rounds' ratios (TaskHost's time per process / the raw loop's).
echo "== process start + join and the raw C fork loop, alternating, $ROUNDS rounds" >&2
for _ in $(seq "$ROUNDS"); do
    .build/release/taskhost bench --only process --tsv | grep '^process_ms' >> "$WORK/process_rounds.tsv"
    "$WORK/raw_fork" 300 .build/release/lib{square,print,text,imagefilter}.so >> "$WORK/process_rounds.tsv"
done
python3 - "$WORK/process_rounds.tsv" <<'PY'
import sys
sys.path.insert(0, "bench")
import tsv
summary = tsv.alternating(tsv.rounds(sys.argv[1]), "process_ms", "raw_fork_ms")
if summary:
    count, median, each, ours, raw = summary
    print()
    print(f"process start + join, {count} rounds alternating with the raw C fork + _exit + waitpid loop: "
          f"median {median:.2f}x the raw loop's time (rounds: {each}; TaskHost median {ours:.4g} ms, raw loop {raw:.4g} ms)")
PY

# Each filter alone on one core, TaskHost's and Pillow's runs alternating, the same
# rounds: the median of each filter's ratios.
echo "== filters on one core, TaskHost and Pillow alternating, $ROUNDS rounds" >&2
for _ in $(seq "$ROUNDS"); do
    .build/release/taskhost bench $QUICK --only filter --tsv --workdir "$WORK/images" | sed 's/^/taskhost\t/' >> "$WORK/filter_rounds.tsv"
    bench/.venv/bin/python bench/python_baseline.py $QUICK --filters-only --images "$WORK/images" | sed 's/^/pillow\t/' >> "$WORK/filter_rounds.tsv"
done
python3 - "$WORK/filter_rounds.tsv" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, key, value, _ = line.rstrip("\n").split("\t")
    if key.startswith("filter_"):
        runs.setdefault(key, {}).setdefault(side, []).append(float(value))
print()
print(f"{'filter, 1 core, rounds alternating':44} {'TaskHost':>14} {'Pillow':>14}  median of the rounds' ratios (all rounds)")
for key, sides in runs.items():
    ratios = [a / b for a, b in zip(sides.get("taskhost", []), sides.get("pillow", []))]
    if ratios:
        print(f"{key[7:] + ' Mpx/s':44} {statistics.median(sides['taskhost']):>14.4g} {statistics.median(sides['pillow']):>14.4g}"
              f"  {statistics.median(ratios):6.2f}x  ({', '.join(f'{r:.1f}' for r in ratios)})")
PY

if command -v mpirun >/dev/null && pkg-config --exists ompi-c; then
    echo "== Scale-out over Open MPI: taskhost --mpi and mpi4py.futures, 1 to 3 ranks" >&2
    swift build -c release --traits MPI --build-path .build/mpi-release >/dev/null
    bench/.venv/bin/python -c "import mpi4py" 2>/dev/null || bench/.venv/bin/pip install --quiet mpi4py
    MPIRUN=(mpirun --oversubscribe)
    [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
    for ranks in 1 2 3; do
        "${MPIRUN[@]}" -np $ranks .build/mpi-release/release/taskhost bench --mpi $QUICK --tsv -p 1 \
            --workdir "$WORK/images" > "$WORK/mpi_taskhost_$ranks.tsv" 2>>"$WORK/mpi.log"
        "${MPIRUN[@]}" -np $ranks bench/.venv/bin/python -m mpi4py.futures bench/mpi4py_baseline.py $QUICK \
            --images "$WORK/images" > "$WORK/mpi_mpi4py_$ranks.tsv" 2>>"$WORK/mpi.log"
    done
    python3 - "$WORK" <<'PY'
import sys
sys.path.insert(0, "bench")
import tsv
work = sys.argv[1]
def load(name):
    return tsv.load(f"{work}/{name}.tsv")
print()
print(f"{'scale-out (Open MPI, this machine)':44} {'TaskHost':>14} {'mpi4py':>14}  TaskHost's speed / mpi4py.futures's")
for ranks in (1, 2, 3):
    th, py = load(f"mpi_taskhost_{ranks}"), load(f"mpi_mpi4py_{ranks}")
    for name, key, higher in (("square map 10^6, typed, items/s", "mpi_square_map", True),
                              ("square map 10^6, as Values, items/s", "mpi_square_values", True),
                              ("per chunk of one item, us", "mpi_chunk_us", False),
                              ("submit/apply round trip, us", "mpi_apply_us", False),
                              ("CONTOUR, photo JPEGs, images/s", "mpi_contour_images", True)):
        base_key = "mpi_square_map" if key == "mpi_square_values" else key
        if key in th and base_key in py:
            a, b = th[key][0], py[base_key][0]
            ratio = a / b if higher else b / a
            label = f"{ranks} rank{'s' if ranks > 1 else ''}: {name}"
            print(f"{label:44} {a:>14.4g} {b:>14.4g}  {ratio:6.2f}x")
PY
fi
