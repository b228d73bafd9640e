"""Rank-table generator and the distributed launcher's dry run (no NPU needed)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gen_rank_table as grt  # noqa: E402

HCCN = """# written by the NPU driver tools
address_0=192.168.100.101
netmask_0=255.255.255.0
address_1=192.168.101.101
netmask_1=255.255.255.0
address_2=192.168.102.101
address_3=192.168.103.101
"""

EXPECTED_4P = {
    "version": "1.0",
    "server_count": "1",
    "server_list": [{
        "server_id": "10.0.0.1",
        "device": [
            {"device_id": "0", "device_ip": "192.168.100.101", "rank_id": "0"},
            {"device_id": "1", "device_ip": "192.168.101.101", "rank_id": "1"},
            {"device_id": "2", "device_ip": "192.168.102.101", "rank_id": "2"},
            {"device_id": "3", "device_ip": "192.168.103.101", "rank_id": "3"},
        ],
        "host_nic_ip": "reserve",
    }],
    "status": "completed",
}


def _gen(tmp_path, conf_text, *args):
    conf = tmp_path / "hccn.conf"
    conf.write_text(conf_text)
    out = tmp_path / "table.json"
    rc = grt.main(["--hccn-conf", str(conf), "--server-ip", "10.0.0.1", "--out", str(out), *args])
    return rc, (json.loads(out.read_text()) if out.exists() else None)


def test_table_from_hccn_conf_equals_expected(tmp_path):
    rc, table = _gen(tmp_path, HCCN, "--devices", "0-3")
    assert rc == 0 and table == EXPECTED_4P


def test_shipped_tables_are_valid():
    t4 = json.loads((ROOT / "rank_tables/rank_table_4p_910b.json").read_text())
    t8 = json.loads((ROOT / "rank_tables/rank_table_8p_910b.json").read_text())
    assert t4 == EXPECTED_4P
    assert [r for r, _, _ in grt.rank_env(t8)] == list(range(8))
    assert all(isinstance(v, str) for d in t8["server_list"][0]["device"] for v in d.values())


@pytest.mark.parametrize("conf,args,msg", [
    (HCCN, ["--devices", "0-4"], "no IP for device(s) [4]"),                      # missing device
    (HCCN.replace("192.168.101.101", "192.168.100.101"), [], "used twice"),       # duplicate IP
    (HCCN.replace("192.168.102.101", "192.168.102.300"), [], "not a valid IPv4"), # bad IP
    ("netmask_0=255.255.255.0\n", [], "no 'address_<id>=<ip>' lines"),
    (HCCN + "address_1=192.168.1.1\n", [], "defined twice"),
])
def test_bad_input_is_refused(tmp_path, capsys, conf, args, msg):
    rc, table = _gen(tmp_path, conf, *args)
    assert rc == 2 and table is None
    assert msg in capsys.readouterr().err


def test_validate_rejects_inconsistent_tables():
    bad = json.loads(json.dumps(EXPECTED_4P))
    bad["server_count"] = "2"
    with pytest.raises(grt.RankTableError, match="server_count"):
        grt.validate(bad)
    bad = json.loads(json.dumps(EXPECTED_4P))
    bad["server_list"][0]["device"][1]["rank_id"] = "0"
    with pytest.raises(grt.RankTableError, match="rank_id repeated"):
        grt.validate(bad)
    bad = json.loads(json.dumps(EXPECTED_4P))
    bad["server_list"][0]["device"][0]["device_id"] = "16"
    with pytest.raises(grt.RankTableError, match="out of range"):
        grt.validate(bad)
    bad = json.loads(json.dumps(EXPECTED_4P))
    bad["server_list"][0]["device"][0]["rank_id"] = 0
    with pytest.raises(grt.RankTableError, match="must be a string"):
        grt.validate(bad)


def test_merge_renumbers_ranks():
    other = json.loads(json.dumps(EXPECTED_4P))
    other["server_list"][0]["server_id"] = "10.0.0.2"
    for d in other["server_list"][0]["device"]:
        d["device_ip"] = d["device_ip"].replace("192.168.", "192.169.")
    merged = grt.merge([EXPECTED_4P, other])
    assert merged["server_count"] == "2"
    assert [r for r, _, _ in grt.rank_env(merged)] == list(range(8))


def _dry_run(*args):
    return subprocess.run(["bash", str(ROOT / "scripts/run_distributed.sh"), "--dry-run", *args],
                          cwd=ROOT, capture_output=True, text=True, check=False)


# a small run config for the launch checks; --stand-in plans it without data
TINY_RUN = ("--stand-in", "configs/train_synth_tiny.yaml", "data.datasets=[SALICON,DHF1K,DIEM]")


def test_dry_run_ascend_msrun_with_rank_table():
    r = _dry_run("--rank_table", "rank_tables/rank_table_4p_910b.json", *TINY_RUN)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "export ASCEND_RT_VISIBLE_DEVICES=0,1,2,3" in out
    assert "--worker_num=4 --local_worker_num=4" in out and "--join=True" in out
    assert "--rank_table_file=" in out and "--device ascend --distributed" in out
    for rank in range(4):
        assert f"rank {rank}: device {rank}" in out
    # then the training plan of each of the 4 ranks, validated on CPU
    assert "[dry-run] plan OK" in out and "4 rank(s)" in out
    for rank in range(4):
        assert f"  rank {rank}: " in out


def test_dry_run_legacy_exports_per_rank_env():
    r = _dry_run("--mode", "legacy", "--rank_table", "rank_tables/rank_table_4p_910b.json",
                 *TINY_RUN, "train.lr=1e-4")
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("rank ")]
    assert len(lines) == 4
    for rank, ln in enumerate(lines):
        for var in (f"RANK_ID={rank}", f"DEVICE_ID={rank}", "RANK_SIZE=4",
                    "RANK_TABLE_FILE=", "MINDSPORE_HCCL_CONFIG_PATH=", "taskset -c"):
            assert var in ln
        assert ln.endswith(f"rank_{rank}/train.log 2>&1") and "train.lr=1e-4" in ln


def test_launcher_refuses_bad_arguments():
    r = _dry_run("--backend", "gpu", "configs/aam_tiny.yaml")
    assert r.returncode == 2 and "--backend must be ascend or cpu" in r.stderr
    r = _dry_run("--devices", "0,1", "--workers", "4", "configs/aam_tiny.yaml")
    assert r.returncode == 2 and "lists 2 ids" in r.stderr
    r = _dry_run("no_such.yaml")
    assert r.returncode == 2 and "config file not found" in r.stderr


@pytest.mark.slow
def test_dry_run_validates_the_paper_run_on_cpu():
    """The paper's run: ViT-L/16 built, every dataset resolved to its reader and prompt in a
    stand-in manifest, the released optimizer / schedule / bf16 policy, 4 ranks planned."""
    r = _dry_run("--devices", "0,1,2,3", "--stand-in", "configs/train_aam_vitl16.yaml")
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    table = [ln.split()[0] for ln in out.splitlines()[out.splitlines().index(
        next(ln for ln in out.splitlines() if ln.startswith("dataset "))) + 1:]
        if ln and not ln.startswith("[")][:18]
    assert table == ["SALICON", "MIT1003", "CAT2000", "OSIE", "FIGRIM", "U-EYE", "FiWI", "SalECI",
                     "DHF1K", "Hollywood-2", "UCF-Sports", "LEDOV", "DIEM", "Coutrot-1",
                     "Coutrot-2", "AVAD", "ETMD", "SumMe"]
    assert "model aam_vitl16: 324.19 M parameters" in out
    assert "head 321 tensors (wd 0.005), lora 96 tensors (wd 0.005)" in out
    assert "precision on Ascend: bf16" in out
    assert "global batch 32 images or 4 clips × 32 frames at 448×448" in out
    assert "schedule released: lr per epoch 3.00e-04 2.93e-04" in out
    ranks0 = [ln for ln in out.split("[dry-run] epoch 0:")[1].split("[dry-run] epoch")[0]
              .splitlines() if ln.startswith("  rank ")]
    assert len(ranks0) == 4 and all("/ 0 audio-visual" in ln for ln in ranks0)
    av = out.split("[dry-run] epoch 10:")[1]
    assert "(audio-visual data in)" in av.splitlines()[0]
    assert sum(int(ln.split(" / ")[2].split()[0]) for ln in av.splitlines()
               if ln.startswith("  rank ")) > 0
    assert out.rstrip().endswith("[dry-run] plan OK")


def test_dry_run_refuses_an_unresolvable_plan(tmp_path):
    r = _dry_run("--stand-in", "configs/train_synth_tiny.yaml", "data.datasets=[SALICON,NoSuch]")
    assert r.returncode == 2 and "data.datasets: unknown dataset 'NoSuch'" in r.stderr
    assert "Traceback" not in r.stderr
    missing = tmp_path / "none.jsonl"
    r = _dry_run("configs/train_synth_tiny.yaml", f"data.train={missing}")
    assert r.returncode == 2 and "no such manifest" in r.stderr and "--stand-in" in r.stderr


def test_shellcheck_passes_on_every_script():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh")) + [str(ROOT / ".ci/run")]
    scripts += sorted(str(p) for p in (ROOT / "ascend_kernels").rglob("*.sh"))
    r = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout
