# The report: Tables 1-3 beside the paper's values.


rule table:
    input:
        metrics=table_inputs,
    output:
        csv=report(f"{R}/{{table}}.csv", category="Tables", labels={"table": "{table}", "format": "csv"}),
        md=f"{R}/{{table}}.md",
    wildcard_constraints:
        table="table1|table2|table3",
    log:
        f"{R}/logs/report/{{table}}.log",
    conda:
        "../envs/report.yaml"
    shell:
        "scale table --table {wildcards.table} --metrics {input.metrics} "
        "--csv {output.csv} --md {output.md} > {log} 2>&1"
