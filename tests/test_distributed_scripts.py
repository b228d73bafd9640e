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


def test_dry_run_ascend_msrun_with_rank_table():
    r = _dry_run("--rank_table", "rank_tables/rank_table_4p_910b.json", "configs/aam_tiny.yaml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "export ASCEND_RT_VISIBLE_DEVICES=0,1,2,3" in out
    assert "--worker_num=4 --local_worker_num=4" in out and "--join=True" in out
    assert "--rank_table_file=" in out and "--device ascend --distributed" in out
    for rank in range(4):
        assert f"rank {rank}: device {rank}" in out


def test_dry_run_legacy_exports_per_rank_env():
    r = _dry_run("--mode", "legacy", "--rank_table", "rank_tables/rank_table_4p_910b.json",
                 "configs/aam_tiny.yaml", "train.lr=1e-4")
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


def test_shellcheck_passes_on_every_script():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh")) + [str(ROOT / ".ci/run")]
    scripts += sorted(str(p) for p in (ROOT / "ascend_kernels").rglob("*.sh"))
    r = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout
