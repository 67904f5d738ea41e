"""Makes the codec fixtures with Pillow (run by hand: python3 make_codec_fixtures.py).

For each small input image it writes, under codec/:
  NAME.png / NAME.jpg       the input
  NAME.pillow.png|.jpg      what Pillow's save() writes for the same pixels
  NAME.raw                  the pixels Pillow decodes (for JPEG inputs)
and a few files whose metadata Pillow treats in its own way (see below).
"""
import os
import numpy as np
from PIL import Image

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "codec")
os.makedirs(HERE, exist_ok=True)


def photo(width, height, seed):
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([40 + 150 * x / width, 60 + 120 * y / height, 180 - 100 * x * y / (width * height)], axis=-1)
    noise = rng.randint(-6, 7, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"), "RGB")


rgb = photo(17, 13, 1)
images = {
    "rgb": rgb,
    "rgba": Image.merge("RGBA", (*rgb.split(), rgb.convert("L"))),
    "l": rgb.convert("L"),
    "la": rgb.convert("LA"),
    "p": rgb.quantize(12),
    "one": rgb.convert("1"),
    "i16": rgb.convert("L").convert("I").point(lambda v: v * 250).convert("I;16"),
}
for name, image in images.items():
    path = os.path.join(HERE, f"{name}.png")
    image.save(path)
    Image.open(path).save(os.path.join(HERE, f"{name}.pillow.png"))

for name, image in (("photo", photo(40, 30, 2)), ("grey", photo(33, 21, 3).convert("L"))):
    path = os.path.join(HERE, f"{name}.jpg")
    image.save(path)
    decoded = Image.open(path)
    decoded.load()
    open(os.path.join(HERE, f"{name}.raw"), "wb").write(decoded.tobytes())
    decoded.save(os.path.join(HERE, f"{name}.pillow.jpg"))

# Files whose metadata or layout Pillow handles in its own way (the reasons
# are in the codec sources): NAME.png / .jpg, and NAME.pillow.png, what
# Image.open(NAME).save(x.png) writes.
import struct
import zlib


def png_file(width, height, depth, colour, rows, extra=b""):
    """A PNG Pillow cannot write itself (e.g. 16-bit grey+alpha), unfiltered rows."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


rng = np.random.RandomState(5)
special = {
    # 16-bit grey+alpha: Pillow opens it as RGBA.
    "la16.png": png_file(7, 5, 16, 4, [rng.randint(0, 65536, 14).astype(">u2").tobytes() for _ in range(5)]),
    # Grey with an RGB profile: libpng would drop the profile, Pillow keeps it.
    "grey_icc.png": png_file(6, 4, 8, 0, [bytes(rng.randint(0, 256, 6).tolist()) for _ in range(4)],
                             extra=(lambda d: struct.pack(">I", len(d)) + b"iCCP" + d
                                    + struct.pack(">I", zlib.crc32(b"iCCP" + d)))(
                                 b"x\0\0" + zlib.compress(b"icc" * 40))),
}
for name, data in special.items():
    open(os.path.join(HERE, name), "wb").write(data)
palette = rgb.quantize(5)
# One fully transparent entry among opaque ones: Pillow keeps its index and writes "ff ff 00".
palette.save(os.path.join(HERE, "p_trns.png"), transparency=b"\xff\xff\x00\xff\xff")
# A 1-bit key of 1: Pillow reads it as 255 and writes 00 ff.
rgb.convert("1").save(os.path.join(HERE, "one_trns.png"), transparency=1)
for name in ("la16.png", "grey_icc.png", "p_trns.png", "one_trns.png"):
    Image.open(os.path.join(HERE, name)).save(os.path.join(HERE, name.replace(".png", ".pillow.png")))
# A JPEG with an ICC profile: saved as PNG, Pillow writes the profile (iCCP).
from PIL import ImageCms

srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
photo(12, 9, 4).save(os.path.join(HERE, "icc.jpg"), icc_profile=srgb)
Image.open(os.path.join(HERE, "icc.jpg")).save(os.path.join(HERE, "icc.pillow.png"))

# The seed's program end to end: Image.open(path).filter(F).save(output/filtered_<name>).
from PIL import ImageFilter

PIPELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline")
os.makedirs(os.path.join(PIPELINE, "expected"), exist_ok=True)
inputs = {
    "image1.jpg": photo(64, 48, 11),
    "image2.jpg": photo(50, 37, 12),
    "image3.png": photo(31, 23, 13),
    "image4.png": Image.merge("RGBA", (*photo(21, 17, 14).split(), photo(21, 17, 15).convert("L"))),
}
for name, image in inputs.items():
    image.save(os.path.join(PIPELINE, name))
for name in inputs:
    for label, f in (("CONTOUR", ImageFilter.CONTOUR), ("GaussianBlur(2)", ImageFilter.GaussianBlur(2)),
                     ("MedianFilter(3)", ImageFilter.MedianFilter(3))):
        filtered = Image.open(os.path.join(PIPELINE, name)).filter(f)
        filtered.save(os.path.join(PIPELINE, "expected", f"{label}_filtered_{name}"))
