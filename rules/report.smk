# The report: Tables 1-3 beside the paper, Tables 4 and 5 beyond them, significance, cost, figures, qualitative examples.


rule table:
    input:
        metrics=table_inputs,
        significance=table_significance,
        chance=chance_files,
    output:
        csv=report(
            layout.table_file(R, "{table}", "csv"),
            caption="../docs/report/table.rst",
            category="Tables",
            labels={"table": "{table}", "format": "csv"},
        ),
        md=layout.table_file(R, "{table}", "md"),
    log:
        layout.log_file(R, "report", "{table}"),
    conda:
        "../envs/report.yaml"
    params:
        caption=table_caption,  # the report's (docs/report/table.rst renders it)
    shell:
        "scale table --table {wildcards.table} --metrics {input.metrics} "
        "--significance {input.significance} --chance {input.chance} "
        "--csv {output.csv} --md {output.md} > {log} 2>&1"


rule significance:
    input:
        predictions=grid.comparison_predictions(config),
    output:
        report(
            layout.significance_file(R),
            caption="../docs/report/significance.rst",
            category="Tables",
            labels={"table": "significance"},
        ),
    log:
        layout.log_file(R, "report", "significance"),
    conda:
        "../envs/report.yaml"
    params:
        bootstrap=scale_config.eval_spec(config)["bootstrap"],
        table="table1",
        caption=significance_caption,
    shell:
        "scale significance --table {params.table} --predictions {input.predictions} --bootstrap {params.bootstrap} "
        "--out {output} > {log} 2>&1"


# the paired tests beside Tables 4 and 5 (beyond the paper), each table's own
use rule significance as table_significance_tests with:
    input:
        predictions=compared_predictions,
    output:
        report(
            layout.significance_file(R, "{table}"),
            caption="../docs/report/significance.rst",
            category="Tables",
            labels={"table": "significance ({table})"},
        ),
    log:
        layout.log_file(R, "report", "significance_{table}"),
    wildcard_constraints:
        table=one_of(TESTED_BEYOND_TABLE1),
    params:
        bootstrap=scale_config.eval_spec(config)["bootstrap"],
        table="{table}",
        caption=significance_caption,


rule cost:
    input:
        runs=grid.run_files(config, layout.run_summary),
        timings=grid.train_timings(config),
    output:
        report(
            layout.cost_file(R),
            caption="../docs/report/cost.rst",
            category="Tables",
            labels={"table": "cost"},
        ),
    log:
        layout.log_file(R, "report", "cost"),
    conda:
        "../envs/report.yaml"
    shell:
        "scale cost --runs {input.runs} --timings {input.timings} --out {output} > {log} 2>&1"


rule figures:
    input:
        train_logs=grid.run_files(config, layout.train_log),
        table1=layout.table_file(R, "table1", "csv"),
        table2=layout.table_file(R, "table2", "csv"),
        stats=grid.stats_files(config),
        metrics=grid.all_metrics(config),
        cost=layout.cost_file(R),
    output:
        [figure_output(name) for name in FIGURES],
    log:
        layout.log_file(R, "report", "figures"),
    conda:
        "../envs/report.yaml"
    params:
        out_dir=output_dir,
    shell:
        "scale figures --train-logs {input.train_logs} --table1 {input.table1} --table2 {input.table2} "
        "--stats {input.stats} --metrics {input.metrics} --cost {input.cost} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule qualitative:
    input:
        predictions=grid.comparison_predictions(config),
        tests=test_files,
    output:
        report(
            layout.qualitative_file(R),
            caption="../docs/report/qualitative.rst",
            category="Qualitative",
        ),
    log:
        layout.log_file(R, "report", "qualitative"),
    conda:
        "../envs/report.yaml"
    params:
        tests=test_file_arguments,
    shell:
        "scale qualitative --predictions {input.predictions} --test {params.tests} "
        "--out {output} > {log} 2>&1"


# a grid over several seeds, summarised (built with no target when seeds: lists several)
rule seeds_summary:
    input:
        predictions=grid.all_predictions(config),
        tables=[layout.table_file(R, t, "csv") for t in grid.tables(config)],
        significance=[
            layout.significance_file(R, t)
            for t in grid.tested_tables(config)
            if t != "table1"
        ],
        train_logs=grid.run_files(config, layout.train_log),
        tests=test_files,
    output:
        report(
            layout.seeds_file(R, "summary.md"),
            caption="../docs/report/seeds.rst",
            category="Seeds",
        ),
        [layout.seeds_file(R, f"{name}.csv") for name in layout.SEEDS_CSVS],
    log:
        layout.log_file(R, "report", "seeds_summary"),
    conda:
        "../envs/report.yaml"
    params:
        tests=test_file_arguments,
        synthetic="--synthetic" if SYNTHETIC_DATA else "",
        title=f"The grid in {R}",
        out_dir=output_dir,
    shell:
        "scale seeds-summary --predictions {input.predictions} --tables {input.tables} "
        "--significance {input.significance} --train-logs {input.train_logs} --test {params.tests} "
        "{params.synthetic} --title {params.title:q} --out-dir {params.out_dir} > {log} 2>&1"


rule report:
    input:
        tables=table_files("md"),
        figures=[layout.figure_file(R, name) for name in FIGURES],
        significance=[
            layout.significance_file(R, t) for t in grid.tested_tables(config)
        ],
        cost=layout.cost_file(R),
        qualitative=layout.qualitative_file(R),
    output:
        layout.report_file(R),
    log:
        layout.log_file(R, "report", "report"),
    conda:
        "../envs/report.yaml"
    params:
        config=as_json(config),
        results_dir=output_dir,
        files=named_files,
    shell:
        "scale report --results-dir {params.results_dir} --spec {params.config:q} --tables {input.tables} "
        "--figures {input.figures} --files {params.files} --out {output} > {log} 2>&1"
