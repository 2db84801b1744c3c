"""The report: Tables 1–3 beside the paper, significance, cost, figures, qualitative examples."""

# The paper's three tables: which metric, which variants (columns, in order), and their titles. Here, not in
# scale.report.tables, so that the command line and the grid know them without importing pandas.
TABLES = {
    "table1": {"metric": "accuracy", "variants": ["base", "sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 1: accuracy (%)", "significance": True},
    "table2": {"metric": "invalid_rate", "variants": ["sft", "scale_sft", "grpo", "scale_grpo"],
               "title": "Table 2: invalid outputs (%)"},
    "table3": {"metric": "accuracy", "variants": ["sft", "sft_fw", "scale_sft", "grpo_fw", "scale_grpo"],
               "title": "Table 3: fixed-weight ablation, accuracy (%)"},
}

# The report's figures, by file name (figures/{name}.png), in the order the report shows them
# (scale.report.figures.draw_all draws them).
FIGURES = ("weight_schedule", "segment_ce", "accuracy", "invalid_rate", "token_lengths", "cost")

__all__ = ["FIGURES", "TABLES"]
