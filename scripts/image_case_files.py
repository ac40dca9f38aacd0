"""What scripts/make_image_decode_cases.py and make_image_resize_cases.py share: the seeded test
images (the vision reference tool's generator, re-implemented here so the scripts stand alone)
and PNG files written byte by byte (PNG specification, chunks and scanlines with filter 0)."""

import struct
import zlib

import numpy as np


def smooth_image(seed, width, height, channels=3):
    """Smooth seeded content plus noise, uint8 [height, width, channels]."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, channels))
    for c in range(channels):
        acc = np.full((height, width), 127.5)
        for _ in range(4):
            fx, fy = r.uniform(-2.5, 2.5), r.uniform(-2.5, 2.5)
            acc += r.uniform(15, 45) * np.cos(
                2 * np.pi * (fx * xx / width + fy * yy / height) + r.uniform(0, 2 * np.pi))
        img[..., c] = acc + r.normal(0, 4, (height, width))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def chunk(tag, data):
    """One PNG chunk: length, tag, data, CRC-32 of tag and data."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(width, height, bit_depth, color_type, rows, extra=b"", interlace=0):
    """A PNG file. rows(y0, dy, x0, dx) -> the packed scanlines of that sub-image (the filter
    byte is added here); one call for the whole image, or one per Adam7 pass when interlaced.
    `extra`: chunks between IHDR and IDAT (PLTE, tRNS)."""
    if interlace:
        passes = [(0, 8, 0, 8), (0, 8, 4, 8), (4, 8, 0, 4), (0, 4, 2, 4), (2, 4, 0, 2), (0, 2, 1, 2), (1, 2, 0, 1)]
    else:
        passes = [(0, 1, 0, 1)]
    raw = b""
    for y0, dy, x0, dx in passes:
        if x0 >= width or y0 >= height:
            continue
        raw += b"".join(b"\x00" + line for line in rows(y0, dy, x0, dx))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)) +
            extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def rgb_png_bytes(rgb):
    """An 8-bit RGB PNG of uint8 pixels [height, width, 3]."""
    h, w, _ = rgb.shape
    return png_bytes(w, h, 8, 2, lambda y0, dy, x0, dx: [rgb[y, x0::dx].tobytes() for y in range(y0, h, dy)])
