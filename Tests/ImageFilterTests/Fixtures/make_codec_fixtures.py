"""Makes the codec fixtures with Pillow (run by hand: python3 make_codec_fixtures.py).

For each small input image it writes, under codec/:
  NAME.png / NAME.jpg       the input
  NAME.pillow.png|.jpg      what Pillow's save() writes for the same pixels
  NAME.raw                  the pixels Pillow decodes (for JPEG inputs)
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
