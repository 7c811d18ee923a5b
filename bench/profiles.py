#!/usr/bin/env python3
"""bench/profiles.md from the runs of bench/profiles (one results file per profile variant).

    profiles.py target/bench/profiles > bench/profiles.md
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

MIB = 1024 * 1024
FUNCTIONS = ["smart-forward", "after-call"]


def median(values):
    return statistics.median(values) if values else float("nan")


def main() -> None:
    out = Path(sys.argv[1])
    rows = []
    for results in sorted(out.glob("opt-*.json")):
        name = results.stem
        data = json.loads(results.read_text())
        _, opt, lto = name.split("-")
        row = {"opt": opt, "lto": lto}
        for function in FUNCTIONS:
            zipped = out / f"{name}.{function}.zip-bytes"
            row[f"{function} zip"] = int(zipped.read_text()) / MIB if zipped.exists() else None
            for key, label in (("cold", "full"), ("cold_128mb", "128")):
                runs = data.get(key, {}).get(function, {}).get("cold_ms", [])
                row[f"{function} {label}"] = median(runs)
        rows.append(row)
    print("### Release profile: opt-level and LTO (`bench/profiles`)")
    print()
    print(
        "Written by `bench/profiles` (not part of `bench/run`: a full release build per "
        "variant). Each variant builds `smart-forward` and `after-call` with cargo-lambda and "
        "runs the cold starts of `bench/bench.py` on them (medians of 7 at full CPU, of 3 under "
        "the share: the 128 MB column moves in steps of 100 ms, so read it for large "
        "differences only). `Cargo.toml`'s `[profile.release]` is the row chosen."
    )
    print()
    print(
        "| opt-level | LTO | `smart-forward` zip MiB | cold ms | 128 MB share ms "
        "| `after-call` zip MiB | cold ms | 128 MB share ms |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def cell(value, digits=1):
        return "–" if value is None or value != value else f"{value:.{digits}f}"

    for r in rows:
        print(
            f"| {r['opt']} | {r['lto']} | {cell(r['smart-forward zip'], 2)} | {cell(r['smart-forward full'])} "
            f"| {cell(r['smart-forward 128'], 0)} | {cell(r['after-call zip'], 2)} | {cell(r['after-call full'])} "
            f"| {cell(r['after-call 128'], 0)} |"
        )


if __name__ == "__main__":
    main()
