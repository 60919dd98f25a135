"""Benchmarks run by ``python -m bench``: each module in ``bench.__main__.MODULES`` has ``run() -> dict``."""
