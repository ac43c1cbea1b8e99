"""``python -m app.simulator [--speed N ...]``: serve the simulator until Ctrl-C."""

from __future__ import annotations

import argparse

from app.simulator.config import SimulatorConfig
from app.simulator.server import run_simulator


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--token", default=None)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--banned", type=_words, default=(), help="comma-separated words")
    parser.add_argument("--chaos", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        speed=args.speed,
        token=args.token,
        rate_limit=args.rate_limit,
        banned=args.banned,
        chaos=args.chaos,
        seed=args.seed,
    )
    run_simulator(config, args.host, args.port)


if __name__ == "__main__":
    main()
