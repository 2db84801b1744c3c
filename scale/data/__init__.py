"""Datasets: the one record schema, the synthetic offline benchmarks, and (paper scale) Vision-R1 and the real
test sets."""
