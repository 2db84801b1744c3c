"""The report: Tables 1–3 beside the paper, Tables 4 and 5 beyond it, significance, cost, figures, qualitative
examples."""

# Table 5's columns: token mean, per-sample means, DFT, segment means with constant weights, SCALe, online weights
ALTERNATIVES = ("sft", "sample_sft", "dft_sft", "sft_fw", "scale_sft", "auto_sft")

# The tables: which metric, which variants (columns, in order), their titles, which models' rows (``rows``: the
# models whose config sets that flag; absent: every model), the paired tests shown beside them (``significance``,
# each ``{treatment}_vs_{baseline}``: scale.variants.pair) and whether each cell also gives its invalid-output
# rate (``with_invalid``), its CSV each test's difference and p (``tests_in_csv``), and the report's captions
# of the table and of its tests (``caption``, ``significance_caption``: reStructuredText). Here, not in
# scale.report.tables, so that the command line, the grid and the rules know them without pandas.
TABLES = {
    "table1": {"metric": "accuracy", "variants": ["base", "sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 1: accuracy (%)", "significance": ["scale_sft_vs_sft", "scale_grpo_vs_grpo"],
               "caption": (
                   "Table 1: accuracy (%) per model and dataset for Base, SFT, SCALe-SFT, GRPO (from SFT) and "
                   "SCALe-GRPO (from SCALe-SFT), the mean over seeds with its sample standard deviation, beside the "
                   "paper's values and the difference. ``chance_uniform`` and ``chance_majority`` are what a uniform "
                   "guess and the best constant answer per question type score: the floor a model must clear."),
               "significance_caption": (
                   "Paired tests per table row: SCALe-SFT against SFT and SCALe-GRPO against GRPO on the same test "
                   "questions (pooled over seeds): the accuracy difference in points with a bootstrap 95% interval, "
                   "and McNemar's exact p on the questions only one of the two answered right.")},
    "table2": {"metric": "invalid_rate", "variants": ["sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 2: invalid outputs (%)",
               "caption": (
                   "Table 2: invalid outputs (%): an output without ``</think>``, or without a closed "
                   "``<answer>…</answer>`` after it, counted wrong in Table 1. The paper reports SCALe reducing "
                   "them.")},
    "table3": {"metric": "accuracy", "variants": ["sft", "sft_fw", "scale_sft", "grpo_fw", "scale_grpo"],
               "title": "Table 3: fixed-weight ablation, accuracy (%)", "rows": "ablation",
               "caption": (
                   "Table 3: the fixed-weight ablation on the ablation models: SFT, SFT-FW (the length-independent "
                   "loss with constant weights), SCALe-SFT, GRPO-FW and SCALe-GRPO, accuracy (%).")},
    # beyond the paper: SCALe's weights tuned online (scale.weighting) against the paper's hand schedule
    "table4": {"metric": "accuracy",
               "variants": ["sft", "scale_sft", "auto_sft", "grpo", "scale_grpo", "auto_grpo"],
               "title": "Table 4 (beyond the paper): SCALe's weights tuned online, accuracy (%), invalid (%)",
               "rows": "adaptive", "significance": ["auto_sft_vs_scale_sft", "auto_grpo_vs_scale_grpo"],
               "with_invalid": True,
               "caption": (
                   "Table 4, beyond the paper: SCALe's weights tuned online from the segment losses (Dynamic Weight "
                   "Average, ``scale.weighting``) against the paper's hand schedule, on the adaptive models: SFT, "
                   "SCALe-SFT, Auto-SFT, GRPO, SCALe-GRPO and Auto-GRPO (from Auto-SFT), accuracy (%) with each "
                   "cell's invalid-output rate, and McNemar's test of each online-weighted variant against SCALe's."),
               "significance_caption": (
                   "Paired tests beside Table 4 (beyond the paper), per row: the online-weighted variants against "
                   "SCALe's hand schedule (Auto-SFT against SCALe-SFT, Auto-GRPO against SCALe-GRPO) on the same "
                   "test questions (pooled over seeds): the accuracy difference in points with a bootstrap 95% "
                   "interval, and McNemar's exact p on the questions only one of the two answered right.")},
    # beyond the paper: SCALe beside the field's other SFT losses, each tested against SFT and against SCALe-SFT
    "table5": {"metric": "accuracy", "variants": list(ALTERNATIVES),
               "title": "Table 5 (beyond the paper): SCALe beside other SFT losses, accuracy (%), invalid (%)",
               "rows": "alternatives", "with_invalid": True, "tests_in_csv": True,
               "significance": [f"{v}_vs_sft" for v in ALTERNATIVES if v != "sft"]
               + [f"{v}_vs_scale_sft" for v in ALTERNATIVES if v not in ("sft", "scale_sft")],
               "caption": (
                   "Table 5, beyond the paper: SCALe beside the field's other SFT losses on the alternatives models: "
                   "token-mean SFT, per-sample means (length-independent, no segments), DFT (each token's loss "
                   "weighted by its detached probability), SFT-FW (segment means, constant weights), SCALe-SFT and "
                   "Auto-SFT, accuracy (%) with each cell's invalid-output rate, and McNemar's test of each against "
                   "SFT and against SCALe-SFT."),
               "significance_caption": (
                   "Paired tests beside Table 5 (beyond the paper), per row: each SFT loss against token-mean SFT "
                   "and against SCALe-SFT on the same test questions (pooled over seeds): the accuracy difference in "
                   "points with a bootstrap 95% interval, and McNemar's exact p on the questions only one of the two "
                   "answered right.")},
}

# The report's figures, by file name (figures/{name}.png), in the order the report shows them
# (scale.report.figures.draw_all draws them).
FIGURES = ("weight_schedule", "segment_ce", "accuracy", "invalid_rate", "token_lengths", "cost")

__all__ = ["FIGURES", "TABLES"]
