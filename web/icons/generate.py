#!/usr/bin/env python3
"""Draws the console's PNG icons (192 and 512 px) with the standard library only, from the same
geometry as icon.svg: a rounded blue square (#3B82F6) holding a white speech bubble with two
lines. Run from anywhere: `python3 web/icons/generate.py`; it rewrites icon-192.png and
icon-512.png beside itself. Not served (console.rs excludes icons/*.py)."""

import struct
import zlib
from pathlib import Path

BLUE = (0x3B, 0x82, 0xF6)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis: 16 samples a pixel smooth the edges


def rounded_rect(x, y, left, top, right, bottom, radius):
    """Whether (x, y) lies in the rectangle with rounded corners (unit coordinates)."""
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def triangle(x, y, a, b, c):
    def side(p, q):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))


def colour_at(x, y):
    """The icon's colour at (x, y) in 0..1, or None where it is transparent."""
    if not rounded_rect(x, y, 0, 0, 1, 1, 0.22):
        return None
    in_bubble = rounded_rect(x, y, 0.2, 0.24, 0.8, 0.66, 0.1) or triangle(x, y, (0.3, 0.6), (0.48, 0.6), (0.27, 0.8))
    if not in_bubble:
        return BLUE
    on_line = rounded_rect(x, y, 0.31, 0.36, 0.69, 0.415, 0.0275) or rounded_rect(x, y, 0.31, 0.48, 0.57, 0.535, 0.0275)
    return BLUE if on_line else WHITE


def pixels(size):
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type: none
        for px in range(size):
            r = g = b = covered = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    colour = colour_at((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size)
                    if colour:
                        r, g, b, covered = r + colour[0], g + colour[1], b + colour[2], covered + 1
            alpha = round(255 * covered / SAMPLES**2)
            row += bytes((r // covered, g // covered, b // covered, alpha) if covered else (0, 0, 0, 0))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels(size), 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for size in (192, 512):
        (here / f"icon-{size}.png").write_bytes(png(size))
