"""Benchmarks: `python -m bench` runs them all, `python -m bench NAME` one of them.

Each module has `main(argv) -> int` and prints its figures with the ratio to the raw library
underneath it.
"""
