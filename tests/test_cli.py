"""Every command-line tool answers --help (argparse with help on every flag), and `python -m train --list`."""

from __future__ import annotations

import importlib

import pytest

TOOLS = [
    "train.__main__", "export.__main__", "export.tensorrt", "export.text_encoder",
    "runtime.camera", "runtime.listen", "runtime.enrol", "runtime.keys", "runtime.healthcheck",
    "train.data.render", "train.data.mocap",
    "bench.results", "bench.runtime", "bench.pipeline", "bench.streameval", "bench.generator", "bench.encoder_latency",
    "bench.realmotion", "bench.learnability",
]  # fmt: skip


@pytest.mark.parametrize("module", TOOLS)
def test_help(module, capsys):
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m ") or out.startswith("usage: ")
    assert len(out.splitlines()) > 3


def test_train_lists_what_it_can_do(capsys):
    from train.__main__ import main

    main(["--list"])
    out = capsys.readouterr().out
    assert "methods:   baseline, dynapurls, infocpl, neuron, pairwise, pgfa" in out and "edge" in out and "55_5" in out and "base12" in out


def test_train_rejects_unknown_method(capsys):
    from train.__main__ import main

    with pytest.raises(SystemExit):
        main(["--method", "nope"])
    assert "unknown method 'nope'" in capsys.readouterr().err
