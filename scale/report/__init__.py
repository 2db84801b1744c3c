"""The report: Tables 1–3 beside the paper, Tables 4 and 5 beyond it, significance, cost, figures, qualitative
examples."""

# Table 5's columns: token mean, per-sample means, DFT, segment means with constant weights, SCALe, online weights
ALTERNATIVES = ("sft", "sample_sft", "dft_sft", "sft_fw", "scale_sft", "auto_sft")

# The tables: which metric, which variants (columns, in order), their titles, which models' rows (``rows``: the
# models whose config sets that flag; absent: every model), the paired tests shown beside them (``significance``,
# each ``{treatment}_vs_{baseline}``: scale.variants.pair) and whether each cell also gives its invalid-output
# rate (``with_invalid``), and its CSV each test's difference and p (``tests_in_csv``). Here, not in
# scale.report.tables, so that the command line and the grid know them without pandas.
TABLES = {
    "table1": {"metric": "accuracy", "variants": ["base", "sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 1: accuracy (%)", "significance": ["scale_sft_vs_sft", "scale_grpo_vs_grpo"]},
    "table2": {"metric": "invalid_rate", "variants": ["sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 2: invalid outputs (%)"},
    "table3": {"metric": "accuracy", "variants": ["sft", "sft_fw", "scale_sft", "grpo_fw", "scale_grpo"],
               "title": "Table 3: fixed-weight ablation, accuracy (%)", "rows": "ablation"},
    # beyond the paper: SCALe's weights tuned online (scale.weighting) against the paper's hand schedule
    "table4": {"metric": "accuracy",
               "variants": ["sft", "scale_sft", "auto_sft", "grpo", "scale_grpo", "auto_grpo"],
               "title": "Table 4 (beyond the paper): SCALe's weights tuned online, accuracy (%), invalid (%)",
               "rows": "adaptive", "significance": ["auto_sft_vs_scale_sft", "auto_grpo_vs_scale_grpo"],
               "with_invalid": True},
    # beyond the paper: SCALe beside the field's other SFT losses, each tested against SFT and against SCALe-SFT
    "table5": {"metric": "accuracy", "variants": list(ALTERNATIVES),
               "title": "Table 5 (beyond the paper): SCALe beside other SFT losses, accuracy (%), invalid (%)",
               "rows": "alternatives", "with_invalid": True, "tests_in_csv": True,
               "significance": [f"{v}_vs_sft" for v in ALTERNATIVES if v != "sft"]
               + [f"{v}_vs_scale_sft" for v in ALTERNATIVES if v not in ("sft", "scale_sft")]},
}

# The report's figures, by file name (figures/{name}.png), in the order the report shows them
# (scale.report.figures.draw_all draws them).
FIGURES = ("weight_schedule", "segment_ce", "accuracy", "invalid_rate", "token_lengths", "cost")

__all__ = ["FIGURES", "TABLES"]
