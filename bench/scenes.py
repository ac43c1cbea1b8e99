"""How long the simulator takes to draw one 2x2 grid, per prompt (median of N runs).

    python bench/scenes.py [--runs 5] [--size 512]

Image generation runs in many tests; scene words must not make it slower.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.simulator import imagegen, landscape

PROMPTS = (
    "mountains",
    "a lighthouse at dusk by the sea",
    "mountains in snow",
    "a forest at night",
    "a city skyline at sunset",
    "desert dunes at noon",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    total = []
    for prompt in PROMPTS:
        times = []
        for run in range(args.runs):
            start = time.perf_counter()
            scenes = landscape.grid_scenes(prompt, run)
            imagegen.compose_grid([imagegen.render(s, args.size) for s in scenes])
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        total.append(median)
        print(f"{median * 1000:7.1f} ms  {prompt}")
    print(f"{statistics.mean(total) * 1000:7.1f} ms  mean of the medians")


if __name__ == "__main__":
    main()
