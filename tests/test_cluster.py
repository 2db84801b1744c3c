"""scale.cluster: the SLURM pre-flight reads sinfo's nodes and names every request none can hold."""

import pytest

from scale.cluster import Request, gpu_count, misfits, parse_sinfo

SINFO = "vm|debug*|2|22057|gpu:8\nvm|gpu|2|22057|gpu:8\nbig|gpu|64|512000|gpu:h100:8(S:0-1)\nc1|cpu|32|128000|(null)\n"


@pytest.mark.parametrize("gres, gpus", [("gpu:8", 8), ("gpu:h100:4(S:0-1)", 4), ("gpu:2,mps:100", 2),
                                        ("(null)", 0), ("mps:100", 0), ("gpu:a100:2,gpu:v100:1", 3)])
def test_gpus_are_read_from_every_gres_layout_sinfo_prints(gres, gpus):
    assert gpu_count(gres) == gpus


def test_sinfo_lists_one_node_per_partition_and_marks_the_default():
    nodes, default = parse_sinfo(SINFO)
    assert default == "debug"
    assert [(n.name, n.partition, n.cpus, n.memory_mb, n.gpus) for n in nodes][2] == ("big", "gpu", 64, 512000, 8)


def test_requests_that_fit_no_node_of_their_partition_are_named_with_what_is_missing():
    nodes, default = parse_sinfo(SINFO)
    requests = [Request("train_sft", None, 32, 480000, 8), Request("train_sft", None, 32, 480000, 8),
                Request("evaluate_trained", "gpu", 8, 64000, 1), Request("score", None, 1, 2000, 0),
                Request("train_grpo", "cpu", 32, 6000, 8), Request("report", "nowhere", 1, 100, 0)]
    found = misfits(requests, nodes, default)
    assert len(found) == 3  # each distinct request once; the evaluation fits "big" in gpu, score fits vm
    assert found[0].startswith("rule report: partition 'nowhere' has no nodes")
    assert "rule train_grpo asks for 32 CPUs, 6000 MB, 8 GPUs; no node of partition 'cpu'" in found[1]
    assert found[1].endswith("GPUs 8 > 0)")
    assert "partition 'debug'" in found[2] and "CPUs 32 > 2, memory MB 480000 > 22057)" in found[2]
