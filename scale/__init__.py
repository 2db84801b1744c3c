"""SCALe-SFT: segment-weighted SFT for reasoning VLMs (and text-only LLMs), and the workflow that replicates
the paper.

The loss, schedule, segment, reward and answer functions import only torch, so
``from scale.loss import scale_loss`` drops into any training loop.
"""

__version__ = "0.1.0"
