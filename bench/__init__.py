"""Benchmarks: each ``bench_*.py`` module has a ``main()`` that prints ratios against a baseline it measures."""
