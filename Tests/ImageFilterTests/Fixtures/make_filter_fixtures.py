#!/usr/bin/env python3
"""Generates the golden files of FilterTests.swift with Pillow (run by hand: python3 make_filter_fixtures.py).

Writes Fixtures/filters/: inputs (in_*.raw), Pillow's outputs (out_<hash>.raw, shared when equal) and
manifest.txt. RAW files are "W H MODE\\n" followed by the samples exactly as if_image holds them
(interleaved; I;16 as little-endian uint16, I as little-endian int32; mode 1 as 0..255 bytes).
manifest.txt, one case per line, tab-separated:
    input-file  spec  expected
expected is an output file, "error: <message>" (if_filter_apply refuses) or "parse-error: <message>".
Deterministic: fixed seeds, no time or platform dependence beyond Pillow itself.
"""
import hashlib
import math
import os
import random
import struct
import sys

import PIL
from PIL import Image, ImageFilter as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "filters")

BANDS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "1": 1, "I;16": 1, "I": 1}

# (spec in the plugin's syntax, the same filter in Pillow)
K5 = [1, 2, 3, 2, 1, 2, -4, 6, -4, 2, 3, 6, 20, 6, 3, 2, -4, 6, -4, 2, 1, 2, 3, 2, 1]
FILTERS = [
    ("CONTOUR", F.CONTOUR), ("BLUR", F.BLUR), ("DETAIL", F.DETAIL), ("EDGE_ENHANCE", F.EDGE_ENHANCE),
    ("EDGE_ENHANCE_MORE", F.EDGE_ENHANCE_MORE), ("EMBOSS", F.EMBOSS), ("FIND_EDGES", F.FIND_EDGES),
    ("SHARPEN", F.SHARPEN), ("SMOOTH", F.SMOOTH), ("SMOOTH_MORE", F.SMOOTH_MORE),
    ("Kernel(3x3; 1 2 3 4 5 6 7 8 9; scale=100)", F.Kernel((3, 3), [1, 2, 3, 4, 5, 6, 7, 8, 9], scale=100)),
    ("Kernel(3x3; 0.5, -1.25, 0.3, 2, 1, 0.1, -0.7, 0.2, 1)",
     F.Kernel((3, 3), [0.5, -1.25, 0.3, 2, 1, 0.1, -0.7, 0.2, 1])),
    ("Kernel(5x5; " + " ".join(map(str, K5)) + "; scale=37.5; offset=20.25)",
     F.Kernel((5, 5), K5, scale=37.5, offset=20.25)),
    # weights and offset multiples of 2^-s: the plugin's exact integer path
    ("Kernel(3x3; -1 -2 -1 0 0 0 1 2 1; scale=2; offset=128)",
     F.Kernel((3, 3), [-1, -2, -1, 0, 0, 0, 1, 2, 1], scale=2, offset=128)),
    ("GaussianBlur", F.GaussianBlur()), ("GaussianBlur(0.5)", F.GaussianBlur(0.5)),
    ("GaussianBlur(1.5)", F.GaussianBlur(1.5)), ("GaussianBlur(5)", F.GaussianBlur(5)),
    ("BoxBlur(1)", F.BoxBlur(1)), ("BoxBlur(0.5)", F.BoxBlur(0.5)), ("BoxBlur(1.7)", F.BoxBlur(1.7)),
    ("BoxBlur(6)", F.BoxBlur(6)),
    ("UnsharpMask", F.UnsharpMask()), ("UnsharpMask(1.3, 300, 0)", F.UnsharpMask(1.3, 300, 0)),
    ("UnsharpMask(5, 50, 10)", F.UnsharpMask(5, 50, 10)),
    ("MedianFilter", F.MedianFilter()), ("MedianFilter(5)", F.MedianFilter(5)),
    ("MinFilter", F.MinFilter()), ("MinFilter(5)", F.MinFilter(5)),
    ("MaxFilter", F.MaxFilter()), ("MaxFilter(5)", F.MaxFilter(5)),
    ("RankFilter(3, 2)", F.RankFilter(3, 2)), ("RankFilter(5, 20)", F.RankFilter(5, 20)),
    ("RankFilter(3, 7)", F.RankFilter(3, 7)), ("RankFilter(5, 3)", F.RankFilter(5, 3)),
    ("MedianFilter(7)", F.MedianFilter(7)), ("RankFilter(7, 40)", F.RankFilter(7, 40)),
    ("ModeFilter", F.ModeFilter()), ("ModeFilter(4)", F.ModeFilter(4)), ("ModeFilter(5)", F.ModeFilter(5)),
]

# Filters applied to the extra modes (1, P, I;16, I): exact pixels where Pillow filters, exact refusals otherwise.
EXTRA_FILTERS = ["SMOOTH", "EMBOSS", "SMOOTH_MORE", "GaussianBlur", "BoxBlur(1)", "UnsharpMask", "MedianFilter",
                 "MaxFilter(5)", "RankFilter(3, 2)", "ModeFilter", "Kernel(3x3; 1 2 3 4 5 6 7 8 9; scale=100)"]

# Specs the parser must refuse, with Pillow's message.
PARSE_ERRORS = [
    ("MedianFilter(4)", "bad filter size"), ("RankFilter(3, 9)", "bad rank value"),
    ("RankFilter(3, -1)", "bad rank value"), ("MinFilter(0)", "bad filter size"),
    ("BoxBlur(-1)", "radius must be >= 0"), ("Kernel(3x3; 1 2 3 4 5 6 7 8)", "not enough coefficients in kernel"),
    ("Kernel(5x5; 1 2 3)", "not enough coefficients in kernel"), ("MedianFilter(99999)", "filter size too large"),
]
# Specs Pillow accepts but refuses when applied to any image big enough.
APPLY_ERRORS = [("Kernel(7x7; " + " ".join(["1"] * 49) + ")", F.Kernel((7, 7), [1] * 49)),
                ("Kernel(3x5; " + " ".join(["1"] * 15) + ")", F.Kernel((3, 5), [1] * 15)),
                ("MedianFilter(-3)", F.MedianFilter(-3)), ("GaussianBlur(1e12)", F.GaussianBlur(1e12)),
                ("UnsharpMask(1e30)", F.UnsharpMask(1e30))]


def raw_bytes(im):
    if im.mode == "I":
        return im.tobytes("raw", "I")
    if im.mode == "I;16":
        return im.tobytes("raw", "I;16")
    if im.mode == "1":  # Pillow keeps 0..255 in mode 1 after a kernel filter; tobytes() would binarise
        return bytes(im.getpixel((x, y)) for y in range(im.height) for x in range(im.width))
    return im.tobytes()


def write_raw(path, im):
    with open(path, "wb") as f:
        f.write(b"%d %d %s\n" % (im.width, im.height, im.mode.encode()))
        f.write(raw_bytes(im))


def make_input(mode, w, h, kind, rng):
    n = w * h * BANDS[mode]
    if mode == "I;16":
        im = Image.new("I;16", (w, h))
        im.frombytes(b"".join(struct.pack("<H", rng.randrange(65536)) for _ in range(w * h)), "raw", "I;16")
        return im
    if mode == "I":
        im = Image.new("I", (w, h))
        im.frombytes(b"".join(struct.pack("<i", rng.randrange(-5000, 400000)) for _ in range(w * h)), "raw", "I")
        return im
    if kind == "noise":
        data = bytes(rng.randrange(256) for _ in range(n))
    elif kind == "levels":  # few values: ModeFilter and rank ties
        data = bytes(rng.choice((0, 60, 61, 200)) for _ in range(n))
    else:  # photo-like: smooth gradients per band, an edge, a little noise
        b = BANDS[mode]
        vals = []
        for y in range(h):
            for x in range(w):
                for c in range(b):
                    v = 120 + 90 * math.sin(x * 0.21 + c * 1.3) * math.cos(y * 0.17 - c * 0.4)
                    if x > w // 2 and y < h // 2:
                        v = 255 - v
                    vals.append(max(0, min(255, int(v + rng.randrange(-6, 7)))))
        data = bytes(vals)
    if mode == "1":
        return Image.frombytes("L", (w, h), bytes(255 if v >= 128 else 0 for v in data)).convert("1")
    im = Image.frombytes(mode, (w, h), data)
    if mode == "P":
        im.putpalette([i for v in range(256) for i in (v, 255 - v, v // 2)])
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(".raw") or name == "manifest.txt":
            os.remove(os.path.join(OUT, name))
    rng = random.Random(20260101)
    lines = [f"# generated by make_filter_fixtures.py with Pillow {PIL.__version__}; input<TAB>spec<TAB>expected"]
    outputs = {}

    def record(inname, spec, result):
        if isinstance(result, Exception):
            lines.append(f"{inname}\t{spec}\terror: {result}")
            return
        data = raw_bytes(result)
        digest = hashlib.sha1(b"%d %d %s\n" % (result.width, result.height, result.mode.encode()) + data).hexdigest()[:16]
        name = f"out_{digest}.raw"
        if name not in outputs:
            write_raw(os.path.join(OUT, name), result)
            outputs[name] = True
        lines.append(f"{inname}\t{spec}\t{name}")

    def run(im, flt):
        try:
            return im.filter(flt)
        except ValueError as e:
            return e

    inputs = []
    for (w, h) in [(1, 1), (2, 3), (5, 5), (17, 13), (40, 30)]:
        for mode in ["L", "LA", "RGB", "RGBA"]:
            for kind in ["photo", "noise"]:
                inputs.append((mode, w, h, kind))
    inputs += [("L", 17, 13, "levels"), ("RGB", 17, 13, "levels")]
    # rows longer than the SIMD chunks (32-sample vectors, 4 at a time in rank filters, 64-byte blur blocks,
    # 16-row blur strips) with ragged ends
    inputs += [("RGB", 70, 37, "photo"), ("L", 150, 20, "noise")]
    for (mode, w, h, kind) in inputs:
        im = make_input(mode, w, h, kind, rng)
        inname = f"in_{mode}_{w}x{h}_{kind}.raw"
        write_raw(os.path.join(OUT, inname), im)
        for spec, flt in FILTERS:
            record(inname, spec, run(im, flt))
        if (w, h) == (17, 13):
            for spec, flt in APPLY_ERRORS:
                record(inname, spec, run(im, flt))
    table = dict(FILTERS)
    for mode in ["1", "P", "I;16", "I"]:
        for kind in ["photo", "levels"] if mode in ("1", "P") else ["noise"]:
            im = make_input(mode, 17, 13, kind, rng)
            inname = f"in_{mode.replace(';', '')}_17x13_{kind}.raw"
            write_raw(os.path.join(OUT, inname), im)
            for spec in EXTRA_FILTERS:
                record(inname, spec, run(im, table[spec]))
            for spec, flt in APPLY_ERRORS:
                record(inname, spec, run(im, flt))
    for spec, msg in PARSE_ERRORS:
        lines.append(f"-\t{spec}\tparse-error: {msg}")
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(lines) - 1} cases, {len(os.listdir(OUT))} files, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
