"""`python -m bench [name ...]`: run the benchmarks and print figure, baseline and ratio.

Each benchmark module exposes `async def run() -> list[(name, figure, baseline, unit)]`; the
baseline is measured in the same run (raw SQLite, bare runc, a bare HTTP server...), so the
ratio is meaningful on a shared, noisy machine where absolute numbers are not.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time

MODULES = [
    "api_bench",
    "storage_bench",
    "controllers_bench",
    "images_bench",
    "runtime_bench",
    "network_bench",
    "node_bench",
    "services_bench",
    "dns_bench",
    "ingress_bench",
]


def main(argv: list[str]) -> int:
    wanted = argv or MODULES
    print(f"{'benchmark':58s} {'litekube':>12s} {'baseline':>12s} {'ratio':>8s}  unit")
    failed = 0
    for name in wanted:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            continue
        t0 = time.monotonic()
        try:
            rows = asyncio.run(module.run())
        except Exception as e:  # one broken benchmark must not hide the others
            print(f"{name}: FAILED: {e!r}")
            failed += 1
            continue
        for label, value, base, unit in rows:
            ratio = f"{value / base:8.2f}" if base else "       -"
            print(f"{label[:58]:58s} {value:12.1f} {base:12.1f} {ratio}  {unit}")
        print(f"  ({name} took {time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
