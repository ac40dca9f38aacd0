#!/usr/bin/python3
"""Writes tests/data/image-resize/: seeded RGB test images and what Pillow's bicubic resize
makes of them, the reference for tightfit's image resampling (src/runtime/image_resize.h).

Needs numpy and Pillow (Debian: python3-numpy python3-pil); only run when the cases change —
the tests read the files, not this script. The test images come from the shared vision
reference tool's seeded generator, re-implemented here so the script stands alone.

    /usr/bin/python3 scripts/make_image_resize_cases.py
"""

import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "image-resize")

# name -> (seed, source width, source height, target width, target height)
CASES = {
    # smart resize of the tiny VL fixture's processor (min_pixels 4096): 100x75 -> 96x64
    "down_100x75_to_96x64": (201, 100, 75, 96, 64),
    # 40x30 is below min_pixels: upscaled to 96x64
    "up_40x30_to_96x64": (202, 40, 30, 96, 64),
    # a strong shrink (the antialiasing support widens to 2 * 4.7 source pixels)
    "down_300x200_to_64x32": (203, 300, 200, 64, 32),
    # one axis only (Pillow skips the vertical pass)
    "width_only_50x64_to_64x64": (204, 50, 64, 64, 64),
}


def make_test_image(seed, width, height):
    """Smooth seeded content plus noise (the vision reference tool's generator)."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for c in range(3):
        acc = np.full((height, width), 127.5)
        for _ in range(4):
            fx, fy = r.uniform(-2.5, 2.5), r.uniform(-2.5, 2.5)
            acc += r.uniform(15, 45) * np.cos(
                2 * np.pi * (fx * xx / width + fy * yy / height) + r.uniform(0, 2 * np.pi))
        img[..., c] = acc + r.normal(0, 4, (height, width))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {"pillow": PIL.__version__, "resample": "BICUBIC", "cases": {}}
    for name, (seed, w, h, tw, th) in CASES.items():
        src = make_test_image(seed, w, h)
        write_png(os.path.join(OUT, name + ".png"), src)
        out = np.asarray(Image.fromarray(src, "RGB").resize((tw, th), Image.BICUBIC))
        np.save(os.path.join(OUT, name + ".npy"), out.astype(np.float32))  # [th, tw, 3]
        index["cases"][name] = {"width": tw, "height": th, "source": [w, h], "seed": seed}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
