#!/usr/bin/python3
"""Writes tests/data/image-decode/: PNG and JPEG files in the layouts tightfit decodes, with the
8-bit RGB pixels each must decode to (src/runtime/image_file.h), as `NAME.npy` (uint8 values
stored as float32, [height, width, 3]) beside `NAME.png` / `NAME.jpg`.

PNG: written here byte by byte (palette + tRNS, 2-bit grey, 16-bit grey + alpha, Adam7
interlaced RGBA) from seeded pixels; the expected pixels follow from the PNG specification
(low-bit grey scaled by bit replication, 16-bit samples cut to their high byte) and from
transformers' convert_to_rgb (transparency composited over white, rounded), computed here in
numpy. JPEG: written and decoded by Pillow (what transformers' image processor reads images
with), baseline 4:2:0, progressive 4:4:4 and greyscale.

Needs numpy and Pillow (Debian: python3-numpy python3-pil); only run when the cases change.

    /usr/bin/python3 scripts/make_image_decode_cases.py
"""

import json
import os

import numpy as np
import PIL
from PIL import Image

from image_case_files import chunk, png_bytes, smooth_image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "image-decode")


def over_white(rgb, alpha):
    """transformers' convert_to_rgb: composited over white, rounded (image_file.cpp)."""
    c = rgb.astype(np.int64)
    a = alpha.astype(np.int64)[..., None]
    out = np.where(a == 255, c, (c * a + 255 * (255 - a) + 127) // 255)
    return out.astype(np.uint8)


def save(name, data, expected):
    ext = ".jpg" if data[:2] == b"\xff\xd8" else ".png"
    with open(os.path.join(OUT, name + ext), "wb") as f:
        f.write(data)
    np.save(os.path.join(OUT, name + ".npy"), expected.astype(np.float32))
    return {"file": name + ext, "width": int(expected.shape[1]), "height": int(expected.shape[0])}


def palette_trns(r):
    w, h = 37, 23
    palette = r.integers(0, 256, (16, 3), dtype=np.uint8)
    alpha = np.array([0, 64, 128, 200, 255, 255, 10, 255], dtype=np.uint8)  # 8 entries; the rest opaque
    idx = r.integers(0, 16, (h, w), dtype=np.uint8)
    extra = chunk(b"PLTE", palette.tobytes()) + chunk(b"tRNS", alpha.tobytes())
    data = png_bytes(w, h, 8, 3, lambda y0, dy, x0, dx: [idx[y, x0::dx].tobytes() for y in range(y0, h, dy)], extra)
    full_alpha = np.concatenate([alpha, np.full(16 - len(alpha), 255, np.uint8)])
    return data, over_white(palette[idx], full_alpha[idx])


def grey_2bit(r):
    w, h = 13, 9  # 13 two-bit pixels: rows end in a partial byte
    v = r.integers(0, 4, (h, w), dtype=np.uint8)

    def pack(line):
        line = np.concatenate([line, np.zeros((-len(line)) % 4, np.uint8)])
        return bytes(int(a) << 6 | int(b) << 4 | int(c) << 2 | int(d) for a, b, c, d in line.reshape(-1, 4))

    data = png_bytes(w, h, 2, 0, lambda y0, dy, x0, dx: [pack(v[y, x0::dx]) for y in range(y0, h, dy)])
    return data, np.repeat((v * 85)[..., None], 3, axis=2)


def grey_alpha_16(r):
    w, h = 19, 17
    g = r.integers(0, 65536, (h, w), dtype=np.uint16)
    a = r.integers(0, 65536, (h, w), dtype=np.uint16)
    a[0, :] = 65535
    a[1, :] = 0
    ga = np.stack([g, a], axis=2).astype(">u2")
    data = png_bytes(w, h, 16, 4, lambda y0, dy, x0, dx: [ga[y, x0::dx].tobytes() for y in range(y0, h, dy)])
    grey8 = (g >> 8).astype(np.uint8)
    return data, over_white(np.repeat(grey8[..., None], 3, axis=2), (a >> 8).astype(np.uint8))


def rgba_interlaced(r):
    w, h = 29, 21  # not multiples of 8: every Adam7 pass is partial
    rgba = smooth_image(r.integers(1 << 30), w, h, channels=4)
    data = png_bytes(w, h, 8, 6, lambda y0, dy, x0, dx: [rgba[y, x0::dx].tobytes() for y in range(y0, h, dy)],
                     interlace=1)
    return data, over_white(rgba[..., :3], rgba[..., 3])


def jpeg(image, **options):
    import io
    buf = io.BytesIO()
    image.save(buf, "JPEG", **options)
    data = buf.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, decoded


def main():
    os.makedirs(OUT, exist_ok=True)
    r = np.random.default_rng(20)
    index = {"pillow": PIL.__version__, "cases": {}}
    for name, make in [("palette_trns", palette_trns), ("grey_2bit", grey_2bit),
                       ("grey_alpha_16", grey_alpha_16), ("rgba_interlaced", rgba_interlaced)]:
        index["cases"][name] = save(name, *make(r))
    photo = Image.fromarray(smooth_image(301, 50, 38), "RGB")
    index["cases"]["rgb_420"] = save("rgb_420", *jpeg(photo, quality=85, subsampling="4:2:0"))
    index["cases"]["rgb_444_progressive"] = save(
        "rgb_444_progressive", *jpeg(photo, quality=90, subsampling="4:4:4", progressive=True))
    grey = Image.fromarray(smooth_image(302, 33, 20, channels=1)[..., 0], "L")
    index["cases"]["grey"] = save("grey", *jpeg(grey, quality=80))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
