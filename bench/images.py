"""prepare_image against a naive Pillow pipeline, on a large photo and a 4K screenshot.

Both inputs are built in memory from a fixed seed (no downloads):

- photo:      6000x4000 JPEG (24 MP) of gradients, soft shapes and sensor-like noise;
- screenshot: 3840x2160 PNG of flat UI panels and rows of text.

naive is ``open → convert("RGB") → thumbnail((2048, 2048)) → save JPEG q85``: the convert
decodes every pixel at full size before scaling. prepare_image runs with default settings
(long side 2048, JPEG quality 85), so large JPEGs are decoded at reduced scale (draft mode).

A last row is one analyze_image-style call (load_images) with 16 copies of a 10000x10000 1-bit
PNG (12 KiB each, 100 million pixels each once decoded): the per-call budget
(media.max_call_pixels) refuses it from the headers, before anything is decoded. Before that
budget existed the same call decoded them all at once: 23-36 s and 3.1 GiB peak RSS on a 2-core
machine; with the budget raised to let it through, the two decode threads (media.decode_workers)
hold the peak to 1.0 GiB.

Time is the median of ``--reps`` interleaved calls. Peak memory is the growth of the peak
resident set during one call, measured in a fresh child process so runs do not share a high-water
mark (Pillow allocates pixel buffers outside Python's allocator, where tracemalloc cannot see them).

Usage: python bench/images.py [--reps 7]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from gatewise.config import MediaConfig
from gatewise.errors import GatewiseError
from gatewise.media.image import prepare_image
from gatewise.multimodal.images import load_images

SETTINGS = MediaConfig()


def make_photo(size: tuple[int, int] = (6000, 4000)) -> bytes:
    rng = random.Random(7)
    small = (size[0] // 8, size[1] // 8)
    shapes = Image.new("RGB", small, (90, 120, 160))
    draw = ImageDraw.Draw(shapes)
    for _ in range(60):
        x, y, r = rng.randrange(small[0]), rng.randrange(small[1]), rng.randrange(20, 160)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    base = shapes.filter(ImageFilter.GaussianBlur(12)).resize(size, Image.Resampling.BILINEAR)
    light = Image.linear_gradient("L").resize(size).convert("RGB")
    # Sensor-like grain of a few levels, as in a real photo (full-range noise would make the
    # file several times larger than a camera's and the decode unrealistically slow).
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).point(lambda v: v // 24)
    photo = ImageChops.add(ImageChops.multiply(base, light), grain.convert("RGB"))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_screenshot(size: tuple[int, int] = (3840, 2160)) -> bytes:
    rng = random.Random(11)
    im = Image.new("RGB", size, (246, 247, 249))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, size[0], 90), fill=(32, 41, 58))
    draw.rectangle((0, 90, 520, size[1]), fill=(230, 233, 238))
    for top in range(140, size[1] - 200, 420):
        for left in range(580, size[0] - 700, 1060):
            card = (left, top, left + 1000, top + 380)
            draw.rounded_rectangle(card, 16, fill="white", outline=(210, 214, 220))
            for line in range(top + 30, top + 350, 34):
                x = left + 30
                while x < left + rng.randrange(500, 960):  # words as short dark strokes
                    word = rng.randrange(20, 90)
                    draw.rectangle((x, line, x + word, line + 14), fill=(40, 44, 52))
                    x += word + 14
    for row in range(130, size[1] - 60, 60):
        draw.text((40, row), f"Menu item {row // 60}", fill=(50, 50, 60), font_size=28)
    buffer = io.BytesIO()
    im.save(buffer, "PNG")
    return buffer.getvalue()


def make_bilevel_bomb(side: int = 10_000) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def naive(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((2048, 2048))
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def gatewise(data: bytes) -> bytes:
    return prepare_image(data, SETTINGS).data


def sixteen_in_one_call(data: bytes) -> str:
    """What one call with 16 copies of ``data`` comes to."""
    url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    try:
        return f"{len(asyncio.run(load_images([url] * 16, SETTINGS)))} images prepared"
    except GatewiseError as exc:
        return f"refused: {exc.code.value}"


METHODS: dict[str, Callable[[bytes], bytes]] = {"naive": naive, "prepare_image": gatewise}
MEASURED: dict[str, Callable[[bytes], object]] = {**METHODS, "load_images x16": sixteen_in_one_call}


def _peak_rss_kib() -> int:
    # VmHWM belongs to this process's own address space; ru_maxrss would carry the parent's
    # high-water mark across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _peak_child(name: str, data: bytes, conn: Connection) -> None:
    before = _peak_rss_kib()
    MEASURED[name](data)
    conn.send(_peak_rss_kib() - before)
    conn.close()


def peak_mib(name: str, data: bytes) -> float:
    # A fresh interpreter: a forked child would inherit memory the parent freed but kept.
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peak_child, args=(name, data, child))
    proc.start()
    kib = parent.recv()
    proc.join()
    return kib / 1024


def median_s(data: bytes, reps: int, methods: dict[str, Callable[[bytes], object]] = METHODS,
             ) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(reps):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn(data)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(reps: int) -> None:
    inputs = {"photo 6000x4000 JPEG": make_photo(), "screenshot 3840x2160 PNG": make_screenshot()}
    print(f"reps={reps}, settings: max_long_side={SETTINGS.max_long_side}, "
          f"jpeg_quality={SETTINGS.jpeg_quality}\n")
    print("| input | method | median ms | peak RSS growth MiB | output | speed-up |")
    print("|---|---|---:|---:|---|---:|")
    for label, data in inputs.items():
        medians = median_s(data, reps)
        for name, fn in METHODS.items():
            sent = fn(data)
            out = Image.open(io.BytesIO(sent))
            shape = f"{out.format} {out.width}x{out.height}, {len(sent) // 1024} KiB"
            ratio = medians["naive"] / medians[name]
            print(f"| {label} ({len(data) // 1024} KiB) | {name} | {medians[name] * 1000:.0f} "
                  f"| {peak_mib(name, data):.0f} | {shape} | {ratio:.1f}x |")
    bomb, name = make_bilevel_bomb(), "load_images x16"
    median = median_s(bomb, reps, {name: sixteen_in_one_call})[name]
    print(f"| 16 x 10000x10000 1-bit PNG in one call ({16 * len(bomb) // 1024} KiB) | {name} "
          f"| {median * 1000:.0f} | {peak_mib(name, bomb):.0f} | {sixteen_in_one_call(bomb)} | |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    main(parser.parse_args().reps)
