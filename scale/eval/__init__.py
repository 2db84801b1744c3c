"""Evaluation: generation backends writing one predictions format, and scoring."""
