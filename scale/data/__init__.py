"""Datasets: the one record schema, the synthetic offline benchmarks, and (paper scale) Vision-R1 and the real
test sets."""

# Datasets whose records carry no picture, the ones a text-only model trains and is tested on: the
# synthetic arithmetic benchmarks (scale.data.arithmetic) and the real test sets of the text paper config.
TEXT_DATASETS = ("gsm8k", "aqua", "math500")
