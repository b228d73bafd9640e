"""Benchmark CLI smoke runs: JSON lines parse and carry their fields (no timing assertions)."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bench", Path(__file__).resolve().parents[1] / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench"] = bench            # ms.jit resolves globals through the module name
_SPEC.loader.exec_module(bench)


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _by_what(text, bench_name):
    """The JSON lines of one bench, grouped by their ``what`` field."""
    what = {}
    for r in _lines(text):
        if r["bench"] == bench_name:
            what.setdefault(r["what"], []).append(r)
    return what


def test_interleaved_runs_rounds_in_turn():
    calls = []
    times = bench.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeat=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    assert all(t >= 0 for v in times.values() for t in v)


def test_framewise_quick_lines(tmp_path, capsys):
    out = tmp_path / "bench.jsonl"
    bench.main(["framewise", "--quick", "--repeat", "1", "--jsonl", str(out)])
    rows = _lines(capsys.readouterr().out)
    assert rows == [json.loads(line) for line in out.read_text().splitlines()]
    machine = rows[0]
    assert machine["bench"] == "machine" and machine["cores"] >= 1
    assert machine["mindspore"].startswith("2.") and machine["ram_gib"] > 0
    fw = [r for r in rows if r["bench"] == "framewise"]
    assert {(r["T"], r["W"]) for r in fw} == {(8, 4), (8, 8), (16, 4), (16, 8)}
    for r in fw:
        assert r["command"] == "python scripts/bench.py framewise --quick --repeat 1 --jsonl " + str(out)
        assert len(r["framewise_times"]) == 1 and len(r["window_times"]) == 1
        assert r["framewise_fps"] == pytest.approx(r["T"] / r["framewise_s"], rel=1e-2)
        assert r["window_fps"] == pytest.approx(1.0 / r["window_s"], rel=1e-2)
        assert r["ratio"] == pytest.approx(r["framewise_fps"] / r["window_fps"], rel=2e-2)


def test_fullsize_quick_subprocess(capsys):
    bench.main(["fullsize", "--quick", "--repeat", "1", "--fullsize-t", "2"])
    (row,) = [r for r in _lines(capsys.readouterr().out) if r["bench"] == "fullsize"]
    assert row["model"] == "aam_tiny" and row["T"] == 2 and row["size"] == 64
    assert 0.1 < row["peak_rss_gib"] < 24 and row["within_24gib"] is True
    assert len(row["warm_s"]) == 1
    assert row["latency_per_frame_s"] == pytest.approx(row["warm_s"][0] / 2, abs=2e-3)


def test_cli_rejects_unknown_bench():
    with pytest.raises(SystemExit):
        bench.main(["nope"])


@pytest.mark.slow
def test_peer_quick_same_network_and_ratios(capsys):
    bench.main(["peer", "--quick"])
    what = _by_what(capsys.readouterr().out, "peer")
    (same,) = what["same_network"]
    assert same["max_abs_diff"] < 1e-4 < same["max_abs_value"]     # the peer is the same network
    (gemm,) = what["gemm_peak"]
    assert gemm["torch_gflops"] > 0 and gemm["mindspore_gflops"] > 0
    back = {(r["impl"], r["threads"]): r for r in what["backbone"]}
    assert set(back) == {(i, t) for i in ("aam-ms GRAPH", "transformers") for t in (1, 2)}
    (ratio,) = what["ratio_backbone"]
    ms_s, torch_s = back[("aam-ms GRAPH", 2)]["s_per_image"], back[("transformers", 2)]["s_per_image"]
    assert ratio["ours_over_torch"] == pytest.approx(ms_s / torch_s, rel=2e-2)
    for r in back.values():
        assert 0.05 < r["peak_rss_gib"] < 24 and 0 < r["fraction_of_gemm_peak"]
    full = {r["T"]: r for r in what["ratio_full_per_frame"]}
    assert set(full) == {1, 4}
    for r in full.values():
        assert r["ours_over_torch_backbone"] == pytest.approx(
            r["s_per_frame"] / r["torch_backbone_s_per_image"], rel=2e-2)
    one = [r for r in what["process"] if r["threads"] == 1]
    assert one and all(r["cores"] == 1 for r in one)          # "1 thread" = pinned to one core
    for r in (back[("aam-ms GRAPH", 1)], back[("transformers", 1)]):
        assert r["cpu_over_wall"] < 1.1       # one core cannot give more than its wall time


@pytest.mark.slow
def test_peer_train_quick_same_step(capsys):
    bench.main(["peer_train", "--quick"])
    what = _by_what(capsys.readouterr().out, "peer_train")
    (same,) = what["same_step"]
    # the same loss before and after each AdamW step: the two steps compute the same update
    assert len(same["losses_ours"]) == len(same["losses_torch"]) == 3
    assert same["max_rel_diff"] < 1e-5
    assert same["losses_ours"][0] != same["losses_ours"][-1]   # the steps change the LoRA factors
    step = {r["impl"]: r for r in what["train_step"]}
    assert set(step) == {"aam-ms GRAPH", "transformers + LoRA"}
    (ratio,) = what["ratio_train_step"]
    assert ratio["ours_over_torch"] == pytest.approx(
        step["aam-ms GRAPH"]["s_per_step"] / step["transformers + LoRA"]["s_per_step"], rel=2e-2)
    assert ratio["full_network"] == "aam_tiny" and ratio["full_s_per_step"] > 0
    for r in step.values():
        assert 0.05 < r["peak_rss_gib"] < 24
