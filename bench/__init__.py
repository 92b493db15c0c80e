"""Measurement: benchmarks and evaluations. Like tests/, it may import anything; nothing imports it."""
