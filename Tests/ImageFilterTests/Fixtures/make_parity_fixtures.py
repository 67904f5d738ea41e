#!/usr/bin/env python3
"""Differential tests against Pillow: seed files, mutants of them, and Pillow's verdict on each
(run by hand, like the other generators, with Pillow 13 from PyPI: python3 make_parity_fixtures.py).

The seeds are small JPEGs and PNGs of the kinds real files come in (JFIF, comments, ICC profiles,
EXIF, CMYK and YCCK, progressive, restart markers; every PNG colour type and depth, interlaced,
palette transparency, text and ICC chunks). Each mutant is a seed with one damage done to it:
bytes flipped, cut short, a chunk's or segment's length, CRC, type or contents changed, chunks
added, duplicated or dropped (see MUTATIONS). For each file the seed's program runs under Pillow:
Image.open(path).filter(F).save(output) in the input's format (and a few as --format png|jpeg),
and its verdict is recorded: the output's bytes, or the message of the exception it raised.

  python3 make_parity_fixtures.py             writes parity/: the files and verdicts.tsv
  python3 make_parity_fixtures.py --measure N [--taskhost PATH]
        makes N mutants in a temporary folder, runs `taskhost filter` over them as a user would,
        and prints how often TaskHost and Pillow agree on accepting or refusing a file, how many
        files both wrote with identical bytes, and every disagreement.
  python3 make_parity_fixtures.py [--taskhost PATH] --files FILE...
        the same over existing files (each under CONTOUR, GaussianBlur(2) and ModeFilter(3)).

verdicts.tsv, one case per line, tab-separated:
    file  filter  format  pixels  outcome
pixels is the FNV-1a 64 hash (hex) of the samples Pillow decodes, as if_image holds them, or "-"
when Pillow refuses to open or load the file; outcome is "ok <FNV-1a 64 of the output file>" or
"error <message>", the message with the file's path written as {}.
Deterministic: fixed seeds; nothing depends on time or platform beyond Pillow itself.
"""
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import PIL
from PIL import Image, ImageFilter

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity")
FILTERS = {"CONTOUR": ImageFilter.CONTOUR, "GaussianBlur(2)": ImageFilter.GaussianBlur(2),
           "MedianFilter(3)": ImageFilter.MedianFilter(3), "SMOOTH": ImageFilter.SMOOTH,
           "ModeFilter(3)": ImageFilter.ModeFilter(3)}


def fnv(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ---- seeds -------------------------------------------------------------------------------------

def photo(width, height, seed, mode="RGB"):
    rng = random.Random(seed)
    im = Image.new("RGB", (width, height))
    im.putdata([(min(255, 40 + 150 * x // width + rng.randint(-6, 6)),
                 min(255, 60 + 120 * y // height + rng.randint(-6, 6)),
                 max(0, 180 - 100 * x * y // (width * height) + rng.randint(-6, 6)))
                for y in range(height) for x in range(width)])
    return im.convert(mode) if mode != "RGB" else im


def chunk(kind, data, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def png_chunks(data):
    """[(offset, length, kind)] of a PNG's chunks, as far as they parse."""
    out, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        out.append((at, length, kind))
        at += 12 + length
    return out


def with_chunk(data, kind, payload, before=b"IDAT", crc=None):
    at = next(o for o, _, k in png_chunks(data) if k == before)
    return data[:at] + chunk(kind, payload, crc) + data[at:]


def save(im, fmt, **options):
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def seeds():
    rgb = photo(17, 13, 1)
    icc = b"\0\0\2\0fake-profile" + bytes(range(256)) * 2
    exif = Image.Exif()
    exif[0x0128] = 2
    exif[0x011A] = (300, 1)
    exif[0x011B] = (300, 1)
    exif[0x010F] = "Maker"
    s = {
        "photo.jpg": save(photo(40, 30, 2), "JPEG"),
        "grey.jpg": save(photo(33, 21, 3, "L"), "JPEG"),
        "comment.jpg": save(photo(24, 18, 4), "JPEG", comment=b"Made with a comment, as cameras do"),
        "icc.jpg": save(photo(12, 9, 5), "JPEG", icc_profile=icc),
        "exif.jpg": save(photo(20, 15, 6), "JPEG", exif=exif.tobytes()),
        "cmyk.jpg": save(photo(22, 17, 7).convert("CMYK"), "JPEG"),
        "cmyk_comment.jpg": save(photo(19, 11, 8).convert("CMYK"), "JPEG", comment=b"print proof"),
        "progressive.jpg": save(photo(30, 20, 9), "JPEG", progressive=True, comment=b"progressive"),
        "restart.jpg": save(photo(32, 24, 10), "JPEG", restart_marker_blocks=1),
        "q90_444.jpg": save(photo(21, 16, 11), "JPEG", quality=90, subsampling=0),
        "rgb.png": save(rgb, "PNG"),
        "rgba.png": save(Image.merge("RGBA", (*rgb.split(), rgb.convert("L"))), "PNG"),
        "l.png": save(rgb.convert("L"), "PNG"),
        "la.png": save(rgb.convert("LA"), "PNG"),
        "p.png": save(rgb.quantize(12), "PNG"),
        "p_trns.png": save(rgb.quantize(5), "PNG", transparency=b"\xff\x80\x00\xff\xff"),
        "one.png": save(rgb.convert("1"), "PNG"),
        "i16.png": save(rgb.convert("L").convert("I").point(lambda v: v * 250).convert("I;16"), "PNG"),
        "interlaced.png": None,
        "l_trns.png": save(rgb.convert("L"), "PNG", transparency=77),
        "rgb_trns.png": save(rgb, "PNG", transparency=(10, 20, 30)),
        "icc.png": save(rgb, "PNG", icc_profile=icc),
    }
    # Interlaced (Pillow cannot write it): Adam7 by hand, filter type 0 per row.
    w, h, raw = 9, 7, rgb.crop((0, 0, 9, 7)).tobytes()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    body = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, h, dy):
            row = b"".join(raw[(y * w + x) * 3:(y * w + x) * 3 + 3] for x in range(x0, w, dx))
            if row:
                body += b"\0" + row
    s["interlaced.png"] = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
                           + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))
    # A text chunk keyed "comment": Pillow's JPEG save writes it as the COM segment.
    s["text_comment.png"] = with_chunk(s["rgb.png"], b"tEXt", b"comment\0caf\xe9 latin-1 text")
    # YCCK: Pillow cannot write it; a CMYK file whose Adobe segment says "YCCK" (transform 2) is one.
    cmyk = bytearray(s["cmyk.jpg"])
    cmyk[cmyk.find(b"Adobe") + 11] = 2
    s["ycck.jpg"] = bytes(cmyk)
    return s


# ---- mutations ---------------------------------------------------------------------------------

def flip(data, rng):
    d = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        d[rng.randrange(8 if data[:4] == b"\x89PNG" else 3, len(d))] ^= 1 << rng.randrange(8)
    return bytes(d)


def cut(data, rng):
    return data[:rng.randrange(10, len(data))]


def png_mutations(data, rng):
    chunks = png_chunks(data)
    idat = [c for c in chunks if c[2] == b"IDAT"]
    ihdr_at = chunks[0][0]
    last = idat[-1]
    after_idat = last[0] + 12 + last[1]

    def set_byte(at, value, fix_crc=True):
        d = bytearray(data)
        d[at] = value
        if fix_crc:
            for o, n, k in png_chunks(bytes(d)):
                if o <= at < o + 8 + n:
                    d[o + 8 + n:o + 12 + n] = struct.pack(">I", zlib.crc32(bytes(d[o + 4:o + 8 + n])))
        return bytes(d)

    def bad_crc(kinds):
        pick = [c for c in chunks if c[2] in kinds] or chunks
        o, n, k = rng.choice(pick)
        d = bytearray(data)
        d[o + 8 + n + rng.randrange(4)] ^= 0x5A
        return bytes(d)

    def inflated(size):
        return zlib.compress(bytes(rng.randrange(4)) * size, 9)

    def many_texts(count):  # past MAX_TEXT_MEMORY (64 MiB) together, each under MAX_TEXT_CHUNK
        d = data
        for i in range(count):
            d = with_chunk(d, b"zTXt", b"k%d\0\0" % i + inflated((1 << 20) - 100))
        return d

    text = rng.choice([b"tEXt", b"zTXt", b"iTXt"])
    big = (1 << 20) + rng.choice([-1, 0, 1, 5000])
    options = {
        "flip": lambda: flip(data, rng),
        "cut": lambda: cut(data, rng),
        "cut_after_idat": lambda: data[:after_idat + rng.choice([0, 4, 8, 11])],
        "crc_critical": lambda: bad_crc({b"IHDR", b"PLTE", b"IDAT", b"IEND"}),
        "crc_ancillary": lambda: bad_crc({b"tRNS", b"iCCP", b"tEXt", b"gAMA", b"pHYs"}),
        "ancillary_bad_crc": lambda: with_chunk(data, rng.choice([b"gAMA", b"tRNS", b"iCCP", b"vpAg", b"tEXt"]),
                                                b"\0\1\0\2", crc=rng.randrange(1 << 32)),
        "ihdr_compression": lambda: set_byte(ihdr_at + 8 + 10, rng.choice([1, 8, 255]), rng.random() < 0.7),
        "ihdr_filter": lambda: set_byte(ihdr_at + 8 + 11, 1),
        "ihdr_interlace": lambda: set_byte(ihdr_at + 8 + 12, rng.choice([1, 2])),
        "ihdr_depth": lambda: set_byte(ihdr_at + 8 + 8, rng.choice([1, 2, 3, 4, 8, 16, 32])),
        "ihdr_colour": lambda: set_byte(ihdr_at + 8 + 9, rng.choice([0, 1, 2, 3, 4, 5, 6, 7])),
        "ihdr_short": lambda: data[:8] + chunk(b"IHDR", data[16:16 + rng.randrange(13)]) + data[8 + 25:],
        "ihdr_twice": lambda: with_chunk(data, b"IHDR", data[16:29], before=rng.choice([b"IDAT", b"IEND"])),
        "idat_length": lambda: (lambda o: data[:o] + struct.pack(">I", rng.choice(
            [last[1] + 1, last[1] + 1000, 1 << 31, 0xFFFFFFFF, max(0, last[1] - 3)])) + data[o + 4:])(last[0]),
        "idat_short_zlib": lambda: (lambda raw: data[:idat[0][0]] + chunk(b"IDAT", zlib.compress(
            raw[:rng.randrange(1, len(raw))])) + data[after_idat:])(zlib.decompress(b"".join(
                data[o + 8:o + 8 + n] for o, n, _ in idat))),
        "idat_extra_cut": lambda: data[:after_idat] + chunk(b"IDAT", b"\0" * 50)[:rng.randrange(8, 40)],
        "idat_extra": lambda: data[:after_idat] + chunk(b"IDAT", b"\1\2\3") + data[after_idat:],
        "filter_type": lambda: (lambda raw: data[:idat[0][0]] + chunk(b"IDAT", zlib.compress(
            bytes([rng.choice([5, 9, 255])]) + raw[1:])) + data[after_idat:])(zlib.decompress(b"".join(
                data[o + 8:o + 8 + n] for o, n, _ in idat))),
        "text_big": lambda: with_chunk(data, text, {b"tEXt": b"k\0" + b"a" * big,
                                                    b"zTXt": b"k\0\0" + inflated(big),
                                                    b"iTXt": b"k\0\1\0\0\0" + inflated(big)}[text]),
        "text_comment_after": lambda: data[:after_idat] + chunk(b"tEXt", b"comment\0after the image")
                                      + data[after_idat:],
        "ztxt_method": lambda: with_chunk(data, b"zTXt", b"k\0\1" + zlib.compress(b"x")),
        "text_memory": lambda: many_texts(66),
        "iccp_big": lambda: with_chunk(data, b"iCCP", b"icc\0\0" + inflated(rng.choice([1 << 20, 2 << 20, 900000]))),
        "iccp_bad": lambda: with_chunk(data, b"iCCP", rng.choice([b"icc\0\1" + zlib.compress(b"p"), b"", b"icc",
                                                                    b"icc\0\0" + zlib.compress(b"p" * 300)[:20],
                                                                    b"icc\0\0garbage"])),
        "apng": lambda: with_chunk(with_chunk(data, b"acTL", struct.pack(">II", rng.choice([0, 1, 2]), 0)),
                                   b"fcTL", struct.pack(">IIIIIHHBB", rng.choice([0, 0, 1, 5]),
                                                        *rng.choice([struct.unpack(">II", data[16:24]),
                                                                     (3, 2), (1000, 1)]),
                                                        rng.choice([0, 0, 1]), 0, 1, 10, 0, 0)),
        "fctl_without_actl": lambda: with_chunk(data, b"fcTL", struct.pack(">IIIIIHHBB", rng.choice([0, 3]),
                                                                           *struct.unpack(">II", data[16:24]),
                                                                           0, 0, 1, 10, 0, 0)),
        "short_ancillary": lambda: with_chunk(data, rng.choice([b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"tRNS",
                                                                 b"acTL", b"fcTL"]), b""),
        "bad_chunk_name": lambda: with_chunk(data, rng.choice([b"a b!", b"\0\0\0\0", b"IDA\xd4"]), b"xy"),
        "no_iend": lambda: data[:-12],
        "iend_first": lambda: with_chunk(data, b"IEND", b"", before=b"IHDR" if rng.random() < 0.3 else b"IDAT"),
        "drop_plte": lambda: b"".join(data[o:o + 12 + n] if k != b"PLTE" else b""
                                      for o, n, k in chunks) if any(k == b"PLTE" for *_, k in chunks)
                             else flip(data, rng),
        "after_iend": lambda: data + rng.choice([b"junk", chunk(b"tEXt", b"a\0b"), b"\0" * 7]),
    }
    name = rng.choice(sorted(options))
    return name, options[name]()


def jpeg_segments(data):
    """[(offset, marker, length)] of the segments before the first scan, and the SOS."""
    out, at = [], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        out.append((at, marker, length))
        if marker == 0xDA:
            break
        at += 2 + length
    return out


def jpeg_mutations(data, rng):
    segs = jpeg_segments(data)
    sos = next(o for o, m, _ in segs if m == 0xDA)
    sof = next((o, l) for o, m, l in segs if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC))

    def segment(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    def insert(seg, at=None):
        at = rng.choice([o for o, _, _ in segs]) if at is None else at
        return data[:at] + seg + data[at:]

    def set_byte(at, value):
        d = bytearray(data)
        d[at] = value
        return bytes(d)

    exif_at = data.find(b"Exif\0\0")
    options = {
        "flip": lambda: flip(data, rng),
        "flip_scan": lambda: (lambda d: (d.__setitem__(a := rng.randrange(sos + 20, len(d) - 2),
                                                       d[a] ^ (1 << rng.randrange(8))), bytes(d))[1])(bytearray(data)),
        "cut": lambda: cut(data, rng),
        "cut_scan": lambda: data[:rng.randrange(sos + 10, len(data))],
        "no_eoi": lambda: data[:-2],
        "cut_in_header": lambda: data[:rng.randrange(3, sos + 4)],
        "sof_bits": lambda: set_byte(sof[0] + 4, rng.choice([8, 12, 16, 0])),
        "sof_layers": lambda: set_byte(sof[0] + 9, rng.choice([0, 2, 3, 4, 5])),
        "sof_size": lambda: set_byte(sof[0] + rng.choice([5, 6, 7, 8]), rng.choice([0, 1, 255])),
        "sof_type": lambda: set_byte(sof[0] + 1, rng.choice([0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCB, 0xDE])),
        "segment_length": lambda: (lambda o: data[:o + 2] + struct.pack(">H", rng.choice([0, 1, 2, 3, 0xFFFF]))
                                   + data[o + 4:])(rng.choice([o for o, _, _ in segs])),
        "comment": lambda: insert(segment(0xFE, rng.choice([b"", b"a comment", bytes(range(256)) * 3])),
                                  at=rng.choice([2, sos])),
        "two_comments": lambda: insert(segment(0xFE, b"first") + segment(0xFE, b"second"), at=2),
        "comment_after_scan": lambda: data[:-2] + segment(0xFE, b"late comment") + b"\xff\xd9",
        "junk_between": lambda: insert(rng.choice([b"\x00\x12", b"\xff\xff\xff", b"\xff\x00", b"\xff\x01",
                                                   b"\xff\x50"])),
        "app_short": lambda: insert(segment(rng.choice([0xE0, 0xEE, 0xE2]),
                                            rng.choice([b"JFIF\0", b"Adobe", b"ICC_PROFILE\0", b"ICC_PROFILE\0\1",
                                                        b"JFIF\0\1\2"]))),
        "icc_pieces": lambda: insert(segment(0xE2, b"ICC_PROFILE\0" + bytes([rng.choice([1, 2]),
                                                                             rng.choice([1, 2, 3])]) + b"abc"),
                                     at=rng.choice([2, sof[0], sos])),
        "dqt_short": lambda: insert(segment(0xDB, bytes([rng.choice([0, 0x10])]) + b"\1" * rng.choice([10, 64, 100]))),
        "exif_resolution": lambda: (lambda d: (d.__setitem__(slice(a := rng.randrange(exif_at + 6, exif_at + 120),
                                                                  a + 1), bytes([rng.randrange(256)])),
                                                bytes(d))[1])(bytearray(data)) if exif_at >= 0 else flip(data, rng),
        "eoi_early": lambda: (lambda a: data[:a] + b"\xff\xd9" + data[a:])(rng.randrange(sos + 20, len(data) - 2)),
        "drop_dht": lambda: b"".join(data[o:o + 2 + l] for o, m, l in segs if m != 0xC4) + data[sos + 2 + segs[-1][2]:]
                            if any(m == 0xC4 for _, m, _ in segs) else flip(data, rng),
        "rst_garbage": lambda: (lambda a: data[:a] + bytes([0xFF, 0xD0 + rng.randrange(8)]) + data[a:])(
            rng.randrange(sos + 20, len(data) - 2)),
    }
    name = rng.choice(sorted(options))
    return name, options[name]()


def mutate(name, data, rng):
    return (png_mutations if name.endswith(".png") else jpeg_mutations)(data, rng)


# ---- Pillow's verdict ---------------------------------------------------------------------------

def samples(im):
    if im.mode == "1":
        return im.convert("L").tobytes()
    return im.tobytes()


def verdict(path, spec, fmt):
    """(pixels hash or '-', 'ok <hash>' | 'error <message>'), the seed's program under Pillow."""
    pixels = "-"
    try:
        with Image.open(path) as im:
            im.load()
            pixels = fnv(samples(im))
            out = io.BytesIO()
            target = {"same": im.format, "png": "PNG", "jpeg": "JPEG"}[fmt]
            im.filter(FILTERS[spec]).save(out, target)
            return pixels, "ok " + fnv(out.getvalue())
    except Exception as e:  # what the seed's program would report
        text = str(e).replace(repr(path), "{}").replace(path, "{}")
        if type(e).__name__ == "UnidentifiedImageError":
            text = "cannot identify image file '{}'"
        return pixels, "error " + " ".join(text.split())


def cases(rng, count):
    """count mutants of the seeds: [(file name, bytes, filter, format)]."""
    base = seeds()
    names = sorted(base)
    out = []
    for i in range(count):
        seed = rng.choice(names)
        kind, data = mutate(seed, base[seed], rng)
        spec = rng.choice(sorted(FILTERS))
        fmt = rng.choice(["same"] * 8 + ["png", "jpeg"])
        out.append((f"m{i:04d}_{kind}_{seed}", data, spec, fmt))
    return out


def write_fixtures():
    shutil.rmtree(HERE, ignore_errors=True)
    os.makedirs(HERE)
    rng = random.Random(17)
    rows = []
    entries = [(name, data, spec, "same") for name, data in sorted(seeds().items()) for spec in
               ("CONTOUR", "GaussianBlur(2)")]
    entries += [("cmyk.jpg", None, "CONTOUR", "png"), ("comment.jpg", None, "SMOOTH", "png"),
                ("text_comment.png", None, "CONTOUR", "jpeg"), ("icc.jpg", None, "MedianFilter(3)", "png")]
    # A comment one COM segment cannot hold (a zTXt chunk keeps the file small).
    long_comment = with_chunk(seeds()["rgb.png"], b"zTXt", b"comment\0\0" + zlib.compress(b"c" * 70000, 9))
    entries += [("long_comment.png", long_comment, "CONTOUR", "jpeg")]
    # Mutants small enough to commit (not the megabyte text chunks: --measure runs those).
    entries += [c for c in cases(rng, 300) if len(c[1]) <= 16384][:260]
    for name, data, spec, fmt in entries:
        path = os.path.join(HERE, name)
        if data is not None:
            open(path, "wb").write(data)
        pixels, outcome = verdict(path, spec, fmt)
        rows.append(f"{name}\t{spec}\t{fmt}\t{pixels}\t{outcome}")
    with open(os.path.join(HERE, "verdicts.tsv"), "w") as f:
        f.write(f"# make_parity_fixtures.py, Pillow {PIL.__version__}: file, filter, format, pixels, outcome\n")
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} verdicts, {sum(os.path.getsize(os.path.join(HERE, n)) for n in os.listdir(HERE))} bytes")


def file_cases(paths):
    """Existing files (e.g. another project's test images), each under CONTOUR, GaussianBlur(2) and ModeFilter(3)."""
    out = []
    for path in paths:
        data = open(path, "rb").read()
        base = os.path.basename(path).replace(" ", "_")
        for i, spec in enumerate(["CONTOUR", "GaussianBlur(2)", "ModeFilter(3)"]):
            out.append((f"f{i}_{base}", data, spec, "same"))
    return out


def measure(all_cases, taskhost):
    """Runs taskhost filter over the cases; prints the agreement with Pillow."""
    work = tempfile.mkdtemp(prefix="parity-")
    groups = {}
    expected = {}
    for name, data, spec, fmt in all_cases:
        path = os.path.join(work, name)
        open(path, "wb").write(data)
        expected[name] = verdict(path, spec, fmt)
        groups.setdefault((spec, fmt), []).append(name)
    got = {}
    for (spec, fmt), names in sorted(groups.items()):
        out = os.path.join(work, f"out-{spec}-{fmt}")
        run = subprocess.run([taskhost, "filter", spec, "-o", out, "-p", "2", "--format", fmt] + names, cwd=work,
                             capture_output=True, text=True)
        errors = {}
        for line in run.stderr.splitlines():
            text = line[len("taskhost: "):] if line.startswith("taskhost: ") else line
            for n in names:
                if text.startswith(n + ": "):
                    errors.setdefault(n, text[len(n) + 2:])
                elif "'" + n + "'" in text:
                    errors.setdefault(n, text.replace(n, "{}"))
        for n in names:
            stem, ext = os.path.splitext(n)
            ext = {"same": ext, "png": ".png", "jpeg": ".jpg"}[fmt]
            written = os.path.join(out, "filtered_" + stem + ext)
            if os.path.exists(written):
                got[n] = "ok " + fnv(open(written, "rb").read())
            else:
                got[n] = "error " + errors.get(n, "(no message)")
    agree = same_bytes = both_wrote = same_message = 0
    disagreements, messages = [], []
    for name, (_, outcome) in sorted(expected.items()):
        mine = got[name]
        if outcome.split()[0] == mine.split()[0]:
            agree += 1
            same_message += outcome.startswith("error") and outcome == mine
            if outcome.startswith("error") and outcome != mine:
                messages.append(f"{name}: Pillow {outcome[6:90]!r}, TaskHost {mine[6:90]!r}")
            if outcome.startswith("ok"):
                both_wrote += 1
                same_bytes += outcome == mine
                if outcome != mine:
                    disagreements.append(f"{name}: bytes differ")
        else:
            disagreements.append(f"{name}: Pillow {outcome[:90]!r}, TaskHost {mine[:90]!r}")
    print(f"accept/refuse agreement: {agree}/{len(expected)} = {100.0 * agree / len(expected):.2f} %")
    refused = sum(1 for _, o in expected.values() if o.startswith("error"))
    print(f"both wrote a file: {both_wrote}, byte-identical: {same_bytes}")
    print(f"Pillow refused: {refused}, TaskHost refused with Pillow's message: {same_message}")
    for line in disagreements:
        print("  " + line)
    if messages:
        print("other messages:")
    for line in messages:
        print("  " + line)
    shutil.rmtree(work)


if __name__ == "__main__":
    if "--measure" in sys.argv or "--files" in sys.argv:
        exe = sys.argv[sys.argv.index("--taskhost") + 1] if "--taskhost" in sys.argv else "taskhost"
        exe = os.path.abspath(exe) if os.sep in exe else exe
        if "--files" in sys.argv:
            paths = [a for a in sys.argv[sys.argv.index("--files") + 1:] if not a.startswith("--")]
            paths = paths[:paths.index(exe)] if exe in paths else paths
            measure(file_cases(p for p in paths if os.path.isfile(p) and p != exe), exe)
        else:
            measure(cases(random.Random(2026), int(sys.argv[sys.argv.index("--measure") + 1])), exe)
    else:
        write_fixtures()
