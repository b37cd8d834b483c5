"""Screenshot benchmark: ScreenReader vs the raw RapidOCR call, and image feature extraction.

Same RapidOCR instance, same images, same run, interleaved: the raw call gets the file path
(RapidOCR decodes it itself); ScreenReader.read gets the same path with its cache emptied, so it
pays for validation, sha256, decoding and box conversion. Goal: ratio <= 1.15. A cached read
(same bytes again) is timed too. Feature extraction is EfficientNet-Lite0 + roi_align over the
OCR boxes; on CUDA the batch throughput is measured as well.

    python -m bench.vision [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from engine.paths import SHARED_DATA
from engine.vision.features import ImageEncoder
from engine.vision.ocr import ScreenReader, open_image

SHARED = SHARED_DATA / "screenshots"
IMAGES = ["pytesseract/test.png", "abcd_ui/customer_site.png", "abcd_ui/agent_dashboard.png",
          "abcd_ui/faq_screenshot.png", "abcd_ui/action_example.png"]


def _ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


def bench_ocr(reader: ScreenReader, paths: list[Path], rounds: int) -> dict[Path, object]:
    engine = reader.engine
    for path in paths:  # warm-up: model loading and first-call allocation
        engine(str(path))
    raw: dict[Path, list[float]] = {p: [] for p in paths}
    ours: dict[Path, list[float]] = {p: [] for p in paths}
    cached: list[float] = []
    shots = {}
    overhead: list[float] = []
    for round_ in range(rounds):
        for path in paths:
            def run_raw(path: Path = path) -> None:
                start = time.perf_counter()
                engine(str(path))
                raw[path].append(time.perf_counter() - start)

            def run_ours(path: Path = path) -> None:
                reader._cache.clear()
                start = time.perf_counter()
                shots[path] = reader.read(path)
                ours[path].append(time.perf_counter() - start)

            first, second = (run_raw, run_ours) if round_ % 2 == 0 else (run_ours, run_raw)
            first()
            second()
            start = time.perf_counter()
            reader.read(path)
            cached.append(time.perf_counter() - start)
            start = time.perf_counter()  # what ScreenReader adds around the OCR call
            image = open_image(path)
            np.ascontiguousarray(np.asarray(image.image)[:, :, ::-1])
            overhead.append(time.perf_counter() - start)
    print(f"{'image':34} {'size':>10} {'blocks':>6} {'raw ms':>8} {'ours ms':>8} {'ratio':>6}")
    for path in paths:
        shot = shots[path]
        print(f"{path.parent.name + '/' + path.name:34} {shot.width:>4}x{shot.height:<5} "
              f"{len(shot.blocks):>6} {_ms(raw[path]):8.0f} {_ms(ours[path]):8.0f} "
              f"{_ms(ours[path]) / _ms(raw[path]):6.3f}")
    total_raw = sum(_ms(raw[p]) for p in paths)
    total_ours = sum(_ms(ours[p]) for p in paths)
    ratio = total_ours / total_raw
    print(f"OCR total (medians): raw {total_raw:.0f} ms, ScreenReader {total_ours:.0f} ms, "
          f"ratio {ratio:.3f} (goal <= 1.15) {'OK' if ratio <= 1.15 else 'OVER'}")
    print(f"ScreenReader work outside the OCR call (read, sha256, checks, decode, BGR): "
          f"{_ms(overhead):.1f} ms median per image")
    print(f"cached read (same bytes again): {_ms(cached):.2f} ms median")
    return shots


def bench_features(encoder: ImageEncoder, paths: list[Path], shots: dict, rounds: int) -> None:
    images = [open_image(path) for path in paths]
    boxes = [[b.box for b in shots[path].blocks] for path in paths]
    for image, image_boxes in zip(images, boxes, strict=True):
        encoder.features(image, image_boxes)  # warm-up
    times = []
    for _ in range(rounds):
        for image, image_boxes in zip(images, boxes, strict=True):
            start = time.perf_counter()
            encoder.features(image, image_boxes)
            if encoder.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    print(f"features on {encoder.device} (long side {encoder.long_side}): "
          f"{_ms(times):.0f} ms median per screenshot, {sum(len(b) for b in boxes)} boxes in all")
    if encoder.device.type == "cuda":
        batch = (images * 8)[:32]
        batch_boxes = (boxes * 8)[:32]
        encoder.features_batch(batch, batch_boxes)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(rounds):
            encoder.features_batch(batch, batch_boxes)
        torch.cuda.synchronize()
        per_second = rounds * len(batch) / (time.perf_counter() - start)
        print(f"CUDA batch of {len(batch)}: {per_second:.0f} screenshots/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vision")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    paths = [SHARED / name for name in IMAGES if (SHARED / name).is_file()]
    if not paths:
        print(f"no screenshots under {SHARED}")
        return 1
    reader = ScreenReader()
    shots = bench_ocr(reader, paths, args.rounds)
    bench_features(ImageEncoder.load(device="cpu"), paths, shots, args.rounds)
    if torch.cuda.is_available():
        bench_features(ImageEncoder.load(device="cuda"), paths, shots, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
