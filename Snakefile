# SCALe-SFT replication: the paper's Tables 1-3, our Tables 4 and 5 and the figures, from file dependencies.
# Run the embedded default with `snakemake --cores all results/table1.csv`.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless --configfile names another: Snakemake would merge the
# two mappings key by key, mixing the default's models into another grid. Found beside this
# file, whatever the working directory (--directory).
if not config:

    configfile: f"{workflow.basedir}/config.yaml"


report: "docs/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/train.smk"
include: "rules/eval.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        grid.all_targets(config),
