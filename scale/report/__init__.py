"""The report: Tables 1–3 beside the paper, significance, cost, figures, qualitative examples."""
