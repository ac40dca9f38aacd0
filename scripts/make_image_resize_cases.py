#!/usr/bin/python3
"""Writes tests/data/image-resize/: seeded RGB test images and what Pillow's bicubic resize
makes of them, the reference for tightfit's image resampling (src/runtime/image_resize.h).

Needs numpy and Pillow (Debian: python3-numpy python3-pil); only run when the cases change —
the tests read the files, not this script. The test images come from the vision reference
tool's seeded generator (scripts/image_case_files.py).

    /usr/bin/python3 scripts/make_image_resize_cases.py
"""

import json
import os

import numpy as np
import PIL
from PIL import Image

from image_case_files import rgb_png_bytes, smooth_image

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


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {"pillow": PIL.__version__, "resample": "BICUBIC", "cases": {}}
    for name, (seed, w, h, tw, th) in CASES.items():
        src = smooth_image(seed, w, h)
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(rgb_png_bytes(src))
        out = np.asarray(Image.fromarray(src, "RGB").resize((tw, th), Image.BICUBIC))
        np.save(os.path.join(OUT, name + ".npy"), out.astype(np.float32))  # [th, tw, 3]
        index["cases"][name] = {"width": tw, "height": th, "source": [w, h], "seed": seed}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
