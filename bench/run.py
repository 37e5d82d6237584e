"""Run every benchmark in bench/ and print their tables (`make bench`, `python -m bench.run`).

    python -m bench.run [NAME ...]

Runs, in this order, each module that exists: consent_decision, register, exchange, kek_rotation (or only the
ones named). Modules are imported lazily, so a benchmark that is missing, or whose context is
not built yet, is skipped rather than breaking the others. Each writes bench/results/NAME.json.
Exits non-zero if a benchmark failed.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import traceback
from types import ModuleType

BENCHMARKS = ("consent_decision", "register", "exchange", "kek_rotation")


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return None
        raise


def _run(module: ModuleType, name: str) -> None:
    """Call the module's `main` with default options, whichever signature it has."""
    main = module.main
    if inspect.signature(main).parameters:
        main([])
        return
    argv, sys.argv = sys.argv, [f"bench.{name}"]  # a `main()` that parses sys.argv sees no options
    try:
        main()
    finally:
        sys.argv = argv


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed: list[str] = []
    for name in names:
        module = _load(name)
        if module is None:
            print(f"== {name}: not present, skipped\n", flush=True)
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            _run(module, name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f} s\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
