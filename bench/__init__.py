"""Benchmarks of the gateway (`make bench`, `python -m bench.run`); results go to bench/results/."""
