"""bench.methods: the methods' table from run directories (mean and spread over seeds, test-time columns, the
real cross-dataset rows), and the results generator's variant names and refinement columns."""

from __future__ import annotations

import json
from pathlib import Path

from bench.methods import collect, markdown
from bench.results import runs_table, variant


def _run(root: Path, name: str, method: str, zsl: float, h: float, refined: float | None = None,
         partition: str | None = None, freeze: str = "", holdout: str = "", split: str = "compose",
         meth_extra: dict | None = None, branches: dict | None = None) -> None:
    d = root / name
    d.mkdir(parents=True)
    test = {"seen": {"top1": 0.9}, "zsl": {"top1": zsl, "top5": 1.0},
            "gzsl": {"seen": 0.9, "unseen": zsl, "h": h}}
    if refined is not None:
        test["zsl_refined"] = {"top1": refined}
        test["gzsl_refined"] = {"seen": 0.8, "unseen": refined, "h": h + 0.01}
    selection = {}
    for b, (bz, bh) in (branches or {}).items():
        test[f"zsl_{b}"], test[f"gzsl_{b}"] = {"top1": bz}, {"h": bh}
        selection["fusion"] = 0.3
    (d / "metrics.json").write_text(json.dumps({"method": method, "data": "synthetic", "split": split,
                                                "test": test, "selection": selection, "train_time_s": 120.0}))
    meth = {"backbone": "edge-small"} | ({"partition": partition} if partition else {}) | (meth_extra or {})
    (d / "config.json").write_text(json.dumps({"run": {"method": method, "data": "synthetic", "split": split,
                                                       "seed": 0, "freeze": freeze, "holdout": holdout},
                                               "method": meth}))


def test_methods_table_aggregates_seeds_and_variants(tmp_path):
    for s, z in enumerate((0.5, 0.7, 0.6)):
        _run(tmp_path, f"cmp-compose-dynapurls-s{s}", "dynapurls", z, 0.5, refined=z + 0.1)
        _run(tmp_path, f"cmp-compose-dynapurls-static-s{s}", "dynapurls", 0.4, 0.4, refined=0.4, partition="static")
    _run(tmp_path, "cmp-compose-baseline-s0", "baseline", 0.8, 0.7)
    _run(tmp_path, "dynapurls/xdata-utd_mhad", "dynapurls", 0.3, 0.3, refined=0.35, holdout="utd_mhad")
    r = collect(tmp_path)
    assert set(r["synthetic"]["compose"]["dynapurls"]) == {"cmp-compose-dynapurls-s0", "cmp-compose-dynapurls-s1",
                                                "cmp-compose-dynapurls-s2"}  # the static runs are their own row
    assert len(r["synthetic"]["compose"]["dynapurls, static partition"]) == 3
    text = "\n".join(markdown(r))
    assert "| dynapurls | 3 | 60.0 ± 10.0 |" in text and "| 70.0 ± 10.0 |" in text
    assert "| baseline | 1 | 80.0 | 70.0 | - | - |" in text
    assert "30.0 (35.0)" in text and "| UTD-MHAD |" in text


def test_results_runs_table_names_variants_and_shows_refinement(tmp_path):
    _run(tmp_path, "a", "dynapurls", 0.5, 0.5, refined=0.6, partition="static", freeze="backbone")
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert variant(cfg) == "dynapurls (static partition, frozen backbone)"
    rows = runs_table([tmp_path / "a"])
    assert "refined ZSL top-1" in rows[0] and "| 60.0 | 51.0 |" in rows[2]


def test_methods_table_has_both_splits_and_neurons_branches(tmp_path):
    for s in range(2):
        _run(tmp_path, f"cmp-base12-neuron-s{s}", "neuron", 0.5, 0.4, split="base12", freeze="backbone",
             branches={"spatial": (0.4, 0.3), "temporal": (0.6, 0.5)})
        _run(tmp_path, f"cmp-base12-neuron-rounds1-s{s}", "neuron", 0.45, 0.4, split="base12",
             meth_extra={"rounds": 1})
    _run(tmp_path, "cmp-compose-infocpl-onehead-s0", "infocpl", 0.3, 0.2, meth_extra={"topk": "100"})
    r = collect(tmp_path)
    assert set(r["synthetic"]) == {"base12", "compose"}
    assert set(r["synthetic"]["base12"]) == {"neuron", "neuron, one round"}
    text = "\n".join(markdown(r))
    assert "### Synthetic, split base12" in text and "| infocpl, one head | 1 | 30.0 |" in text
    assert "| base12 | neuron | 40.0 ± 0.0 / 30.0 ± 0.0 | 60.0 ± 0.0 / 50.0 ± 0.0 | 50.0 ± 0.0 / 40.0 ± 0.0 | 0.3, 0.3 |" in text


def test_variant_names_the_neuron_and_infocpl_ablations():
    def cfg(method: str, **m) -> dict:
        return {"run": {"method": method, "freeze": "backbone"}, "method": m}

    assert variant(cfg("neuron", rounds=1, memory=False, side_information="off")) == \
        "neuron (one round, no memory gates, class name only, frozen backbone)"
    assert variant(cfg("neuron", rounds=3, memory=True, side_information="derived")) == "neuron (frozen backbone)"
    assert variant(cfg("infocpl", topk="100", invert_attention=False, negatives="rolled")) == \
        "infocpl (one head, no attention inversion, rolled negatives, frozen backbone)"
    assert variant(cfg("infocpl", topk="1,5,10", invert_attention=True, negatives="sampled")) == \
        "infocpl (frozen backbone)"


def test_run_commands_leave_out_the_methods_own_run_defaults():
    from bench.results import run_command

    def command(optimizer: str, lr: float) -> str:
        return run_command({"run": {"method": "neuron", "data": "synthetic", "split": "compose", "optimizer": optimizer,
                                    "lr": lr}, "method": {}})

    assert "--optimizer" not in command("adamw", 0.001) and "--lr" not in command("adamw", 0.001)
    assert "--optimizer sgd --lr 0.05" in command("sgd", 0.05)  # what Neuron does not default to any more
