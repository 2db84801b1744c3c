"""``report.md``: one page that links every table, figure and file, with the config and versions used."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from scale.provenance import git_commit, versions


def report_markdown(results_dir: str | Path, config: dict, tables: list, figures: list, extra: dict[str, str]) -> str:
    results_dir = Path(results_dir)

    def link(path) -> str:
        return Path(path).resolve().relative_to(results_dir.resolve()).as_posix()

    lines = ["# SCALe replication report", "",
             "Tables compare our runs with the paper's reported values where the model names match "
             "(the paper config); with the tiny embedded default those columns stay empty.", ""]
    for table in tables:
        csv = link(Path(table).with_suffix(".csv"))
        lines += [Path(table).read_text(), f"([markdown]({link(table)}), [csv]({csv}))",
                  ""]
    lines += ["## Figures", ""]
    lines += [f"![{Path(f).stem}]({link(f)})" for f in figures]
    lines += ["", "## Files", ""] + [f"- [{name}]({link(path)})" for name, path in extra.items()]
    lines += ["", "## Versions", "", "```json", json.dumps({"git_commit": git_commit(), **versions()}, indent=2),
              "```", "", "## Config", "", "```yaml", yaml.safe_dump(config, sort_keys=False).rstrip(), "```", ""]
    return "\n".join(lines)
