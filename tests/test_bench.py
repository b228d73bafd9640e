"""Benchmark CLI smoke runs: JSON lines parse and carry their fields (no timing assertions)."""
import json

import pytest

from aam_ms import bench


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


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
        assert r["command"] == "python -m aam_ms.bench framewise --quick --repeat 1 --jsonl " + str(out)
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
