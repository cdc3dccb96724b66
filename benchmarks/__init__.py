"""Benchmarks: each prints its figures and its ratio against a reference measured in the same
run. Run them all with `make bench` (python -m benchmarks) or one with python -m benchmarks.NAME.
"""
