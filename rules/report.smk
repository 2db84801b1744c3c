# The report: Tables 1-3 beside the paper, significance, cost, figures, qualitative examples.


rule table:
    input:
        metrics=table_inputs,
        significance=f"{R}/significance.csv",
        chance=chance_files,
    output:
        csv=report(
            f"{R}/{{table}}.csv",
            category="Tables",
            labels={"table": "{table}", "format": "csv"},
        ),
        md=f"{R}/{{table}}.md",
    log:
        f"{R}/logs/report/{{table}}.log",
    wildcard_constraints:
        table="table1|table2|table3",
    conda:
        "../envs/report.yaml"
    shell:
        "scale table --table {wildcards.table} --metrics {input.metrics} "
        "--significance {input.significance} --chance {input.chance} "
        "--csv {output.csv} --md {output.md} > {log} 2>&1"


rule significance:
    input:
        predictions=comparison_predictions,
    output:
        report(
            f"{R}/significance.csv",
            category="Tables",
            labels={"table": "significance"},
        ),
    log:
        f"{R}/logs/report/significance.log",
    conda:
        "../envs/report.yaml"
    params:
        bootstrap=scale_config.eval_spec(config)["bootstrap"],
    shell:
        "scale significance --predictions {input.predictions} --bootstrap {params.bootstrap} "
        "--out {output} > {log} 2>&1"


rule cost:
    input:
        runs=run_summaries,
        benchmarks=train_benchmarks,
    output:
        report(f"{R}/cost.csv", category="Tables", labels={"table": "cost"}),
    log:
        f"{R}/logs/report/cost.log",
    conda:
        "../envs/report.yaml"
    shell:
        "scale cost --runs {input.runs} --benchmarks {input.benchmarks} --out {output} > {log} 2>&1"


rule figures:
    input:
        train_logs=train_logs,
        table1=f"{R}/table1.csv",
        table2=f"{R}/table2.csv",
        stats=stats_files,
        metrics=all_metrics,
        cost=f"{R}/cost.csv",
    output:
        [figure_output(name) for name in FIGURES],
    log:
        f"{R}/logs/report/figures.log",
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
        predictions=comparison_predictions,
        tests=test_files,
    output:
        report(f"{R}/qualitative.md", category="Qualitative"),
    log:
        f"{R}/logs/report/qualitative.log",
    conda:
        "../envs/report.yaml"
    params:
        tests=test_file_arguments,
    shell:
        "scale qualitative --predictions {input.predictions} --test {params.tests} "
        "--out {output} > {log} 2>&1"


rule report:
    input:
        tables=table_markdowns,
        figures=expand(f"{R}/figures/{{name}}.png", name=FIGURES),
        significance=f"{R}/significance.csv",
        cost=f"{R}/cost.csv",
        qualitative=f"{R}/qualitative.md",
    output:
        f"{R}/report.md",
    log:
        f"{R}/logs/report/report.log",
    conda:
        "../envs/report.yaml"
    params:
        config=as_json(config),
        results_dir=output_dir,
    shell:
        "scale report --results-dir {params.results_dir} --spec {params.config:q} --tables {input.tables} "
        "--figures {input.figures} --files significance={input.significance} cost={input.cost} "
        "qualitative={input.qualitative} --out {output} > {log} 2>&1"
