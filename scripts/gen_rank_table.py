#!/usr/bin/env python3
"""Build and validate HCCL rank tables (schema version "1.0") for Ascend 910B servers.

    # from the device IPs the NPU driver configured on this server
    python scripts/gen_rank_table.py --hccn-conf /etc/hccn.conf --server-ip 10.0.0.1 \
        --devices 0-3 --out rank_tables/rank_table_4p.json
    # explicit device IPs (no hccn.conf), e.g. to prepare a table on another machine
    python scripts/gen_rank_table.py --server-ip 10.0.0.1 \
        --device-ips 0=192.168.100.101,1=192.168.101.101 --out table.json
    # several servers: one table per server, then merge (rank ids renumbered in order)
    python scripts/gen_rank_table.py --merge a.json b.json --out cluster.json
    # check an existing table
    python scripts/gen_rank_table.py --validate rank_tables/rank_table_4p.json

All values in the table are strings and ``status`` is ``completed``, as HCCL expects.
"""
import argparse
import ipaddress
import json
import os
import re
import sys
import tempfile

MAX_DEVICES_PER_SERVER = 16   # 910B servers have 8 (some 16) NPUs; ids are 0..15


class RankTableError(ValueError):
    """A rank table or its inputs are invalid; the message says what and where."""


def _ip(text, what):
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise RankTableError(f"{what}: {text!r} is not a valid IPv4 address") from None


def parse_devices(spec):
    """'0-3' or '0,1,2,3' → [0, 1, 2, 3] (sorted, unique)."""
    ids = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise RankTableError(f"--devices: cannot read {part!r} (use '0-3' or '0,1,2,3')")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise RankTableError(f"--devices: empty range {part!r}")
        ids.extend(range(lo, hi + 1))
    if len(set(ids)) != len(ids):
        raise RankTableError(f"--devices: device listed twice in {spec!r}")
    return sorted(ids)


def parse_hccn_conf(text, source="hccn.conf"):
    """{device_id: ip} from ``address_<id>=<ip>`` lines (other keys such as netmask_* ignored)."""
    out = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        m = re.fullmatch(r"address_(\d+)\s*=\s*(\S+)", line)
        if not m:
            continue
        dev = int(m.group(1))
        if dev in out:
            raise RankTableError(f"{source}:{n}: address_{dev} defined twice")
        out[dev] = _ip(m.group(2), f"{source}:{n} address_{dev}")
    if not out:
        raise RankTableError(f"{source}: no 'address_<id>=<ip>' lines found")
    return out


def parse_device_ips(spec):
    """'0=192.168.100.101,1=192.168.101.101' → {0: ip, 1: ip}."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in part:
            raise RankTableError(f"--device-ips: {part!r} is not '<id>=<ip>'")
        dev, ip = part.split("=", 1)
        if not dev.strip().isdigit():
            raise RankTableError(f"--device-ips: device id {dev!r} is not a number")
        if int(dev) in out:
            raise RankTableError(f"--device-ips: device {dev} given twice")
        out[int(dev)] = _ip(ip, f"--device-ips device {dev}")
    return out


def build_server(server_ip, device_ips, devices=None, first_rank=0):
    """One ``server_list`` entry; ``devices`` selects (and orders) ids from ``device_ips``."""
    server_ip = _ip(server_ip, "--server-ip")
    devices = sorted(device_ips) if devices is None else devices
    missing = [d for d in devices if d not in device_ips]
    if missing:
        raise RankTableError(f"no IP for device(s) {missing} (hccn.conf / --device-ips has "
                             f"{sorted(device_ips)})")
    return {
        "server_id": server_ip,
        "device": [{"device_id": str(d), "device_ip": device_ips[d],
                    "rank_id": str(first_rank + i)} for i, d in enumerate(devices)],
        "host_nic_ip": "reserve",
    }


def build_table(servers):
    table = {"version": "1.0", "server_count": str(len(servers)), "server_list": servers,
             "status": "completed"}
    validate(table)
    return table


def merge(tables):
    """Concatenate the servers of several tables, renumbering ranks in order."""
    servers, rank = [], 0
    for t in tables:
        validate(t)
        for s in t["server_list"]:
            s = json.loads(json.dumps(s))
            for d in s["device"]:
                d["rank_id"] = str(rank)
                rank += 1
            servers.append(s)
    return build_table(servers)


def validate(table, source="rank table"):
    """Raise RankTableError unless ``table`` is a consistent HCCL v1.0 rank table."""
    def need(cond, msg):
        if not cond:
            raise RankTableError(f"{source}: {msg}")

    need(isinstance(table, dict), "top level must be an object")
    need(table.get("version") == "1.0", f"version must be \"1.0\", got {table.get('version')!r}")
    need(table.get("status") == "completed", "status must be \"completed\"")
    servers = table.get("server_list")
    need(isinstance(servers, list) and servers, "server_list must be a non-empty list")
    need(isinstance(table.get("server_count"), str), "server_count must be a string")
    need(table["server_count"] == str(len(servers)),
         f"server_count {table['server_count']!r} but server_list has {len(servers)} entries")
    ranks, ips, server_ids = [], set(), set()
    for i, s in enumerate(servers):
        where = f"server_list[{i}]"
        need(isinstance(s.get("server_id"), str), f"{where}.server_id must be a string")
        _ip(s["server_id"], f"{source}: {where}.server_id")
        need(s["server_id"] not in server_ids, f"{where}: server_id {s['server_id']} repeated")
        server_ids.add(s["server_id"])
        devs = s.get("device")
        need(isinstance(devs, list) and devs, f"{where}.device must be a non-empty list")
        seen = set()
        for j, d in enumerate(devs):
            w = f"{where}.device[{j}]"
            for key in ("device_id", "device_ip", "rank_id"):
                need(isinstance(d.get(key), str), f"{w}.{key} must be a string")
            need(d["device_id"].isdigit() and int(d["device_id"]) < MAX_DEVICES_PER_SERVER,
                 f"{w}.device_id {d['device_id']!r} out of range 0..{MAX_DEVICES_PER_SERVER - 1}")
            need(d["device_id"] not in seen, f"{w}: device_id {d['device_id']} repeated")
            seen.add(d["device_id"])
            ip = _ip(d["device_ip"], f"{source}: {w}.device_ip")
            need(ip not in ips, f"{w}: device_ip {ip} used twice")
            ips.add(ip)
            need(d["rank_id"].isdigit(), f"{w}.rank_id {d['rank_id']!r} is not a number")
            ranks.append(int(d["rank_id"]))
    need(len(set(ranks)) == len(ranks), f"rank_id repeated: {sorted(ranks)}")
    need(sorted(ranks) == list(range(len(ranks))),
         f"rank ids must be 0..{len(ranks) - 1}, got {sorted(ranks)}")
    return table


def rank_env(table):
    """[(rank_id, device_id, server_id)] sorted by rank, for launchers."""
    validate(table)
    rows = [(int(d["rank_id"]), int(d["device_id"]), s["server_id"])
            for s in table["server_list"] for d in s["device"]]
    return sorted(rows)


def _write(table, path):
    text = json.dumps(table, indent=4) + "\n"
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise RankTableError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise RankTableError(f"{path}: not JSON ({e})") from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hccn-conf", help="file with address_<id>=<ip> lines (e.g. /etc/hccn.conf)")
    p.add_argument("--device-ips", help="explicit '<id>=<ip>,...' instead of --hccn-conf")
    p.add_argument("--server-ip", help="this server's host IP (server_id)")
    p.add_argument("--devices", help="device ids to include, '0-3' or '0,1,2,3' (default: all)")
    p.add_argument("--merge", nargs="+", metavar="TABLE", help="merge per-server tables")
    p.add_argument("--validate", metavar="TABLE", help="only validate an existing table")
    p.add_argument("--out", default="-", help="output path (default: stdout)")
    a = p.parse_args(argv)
    try:
        if a.validate:
            t = validate(_load(a.validate), a.validate)
            n = sum(len(s["device"]) for s in t["server_list"])
            print(f"{a.validate}: valid, {t['server_count']} server(s), {n} rank(s)")
            return 0
        if a.merge:
            _write(merge([_load(f) for f in a.merge]), a.out)
            return 0
        if not a.server_ip:
            raise RankTableError("--server-ip is required to build a table")
        if bool(a.hccn_conf) == bool(a.device_ips):
            raise RankTableError("give exactly one of --hccn-conf and --device-ips")
        if a.hccn_conf:
            try:
                with open(a.hccn_conf, encoding="utf-8") as f:
                    ips = parse_hccn_conf(f.read(), a.hccn_conf)
            except OSError as e:
                raise RankTableError(f"{a.hccn_conf}: cannot read ({e.strerror})") from None
        else:
            ips = parse_device_ips(a.device_ips)
        devices = parse_devices(a.devices) if a.devices else None
        _write(build_table([build_server(a.server_ip, ips, devices)]), a.out)
        return 0
    except RankTableError as e:
        print(f"gen_rank_table: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
