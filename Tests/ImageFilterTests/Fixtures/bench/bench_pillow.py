#!/usr/bin/env python3
"""Times Pillow's filters on bench_filters.c's 1920x1080 RGB image and prints the ratios.
usage: python3 bench_pillow.py /path/to/bench_filters [--baseline | --avx2] [spec ...]
(runs the C bench on the same specs; --baseline or --avx2 is passed on: SSE2/portable versions, or AVX2 at most,
instead of the widest the CPU has)"""
import re
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageFilter as F


def make_image(W=1920, H=1080):
    y, x, b = np.mgrid[0:H, 0:W, 0:3].astype(np.uint32)
    hsh = ((x * np.uint32(73856093)) ^ (y * np.uint32(19349663)) ^ (b * np.uint32(83492791))) & np.uint32(31)
    v = (x * 255 // W + y * 255 // H + b * 60) // 2 + hsh
    return Image.fromarray((v & 255).astype(np.uint8), "RGB")


def to_pillow(spec):
    """The plugin's spec syntax -> a Pillow filter object."""
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", spec.strip())
    name, args = m.group(1), m.group(2)
    if name.upper() == name:
        return getattr(F, name)
    if name == "Kernel":
        parts = [p.strip() for p in args.split(";")]
        n = int(parts[0].split("x")[0])
        vals = [float(v) for v in parts[1].replace(",", " ").split()]
        kw = {k.strip(): float(v) for k, v in (p.split("=") for p in parts[2:])}
        return F.Kernel((n, n), vals, **kw)
    a = [float(v) if "." in v else int(v) for v in args.split(",")] if args else []
    return getattr(F, name)(*a)


def main():
    bench = sys.argv[1]
    flags = [a for a in sys.argv[2:] if a in ("--baseline", "--avx2")]
    specs = [a for a in sys.argv[2:] if a not in ("--baseline", "--avx2")]
    out = subprocess.run([bench] + flags + specs, check=True, capture_output=True, text=True).stdout
    ours = [line.split("\t") for line in out.strip().split("\n")]
    im = make_image()
    im.load()
    print(f"{'filter':<40} {'ours ms':>9} {'Pillow ms':>10} {'ratio':>7}")
    for spec, ms, _ in ours:
        flt = to_pillow(spec)
        best, total, runs = 1e30, 0.0, 0
        while runs < 2 or (total < 1.0 and runs < 10):
            t0 = time.perf_counter()
            im.filter(flt)
            dt = time.perf_counter() - t0
            best = min(best, dt)
            total += dt
            runs += 1
        print(f"{spec[:40]:<40} {float(ms):9.2f} {best * 1e3:10.2f} {best * 1e3 / float(ms):6.1f}x", flush=True)


main()
