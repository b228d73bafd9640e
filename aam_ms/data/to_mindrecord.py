"""Manifest → MindRecord shards, resumable and verifiable.

One row per manifest record (an image, or one frame of a video). Stimuli stay encoded (the
JPEG/PNG bytes as on disk; frames of video files are re-encoded as JPEG), density maps are
PNG bytes (PNG files copied, other formats re-encoded as 16-bit PNG scaled to max 65535),
fixations are rendered to a binary map at the density map's size and stored as PNG (0/255),
audio is the record's window at 16 kHz as a float32 array (empty without audio).

Shard ``k`` of ``N`` is ``{OUT_PREFIX}-{k:05d}-of-{N:05d}.mindrecord`` (+ ``.db``), holding a
contiguous block of the manifest. It is written into a ``.partial`` folder and renamed into
place when complete. The sidecar ``{OUT_PREFIX}.meta.json`` is rewritten atomically after each
shard and is the resume state: per completed shard its rows' manifest indices and sha256
checksums and the file's sha256; the records that could not be read are listed under
``skipped`` (with the reason) instead of stopping the conversion.

CLI: ``python -m aam_ms.data.to_mindrecord MANIFEST OUT_PREFIX --shards N [--resume] [--verify]``.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import cv2
import numpy as np

from aam_ms.data import io
from aam_ms.data.manifest import read_manifest

FORMAT = "aam-mindrecord/1"
SR = 16000
META_FIELDS = ("key", "dataset", "modality", "split", "prompt_key", "video")
INT_FIELDS = ("manifest_index", "frame_index", "num_frames", "height", "width")
SCHEMA = {
    **{k: {"type": "string"} for k in META_FIELDS},
    **{k: {"type": "int32"} for k in INT_FIELDS},
    "stimulus": {"type": "bytes"},
    "density": {"type": "bytes"},
    "fixation": {"type": "bytes"},
    "audio": {"type": "float32", "shape": [-1]},
}
_JPEG_EXTS = (".jpg", ".jpeg", ".png")
_WRITE_CHUNK = 64


def shard_path(out_prefix, k, n):
    return f"{out_prefix}-{k:05d}-of-{n:05d}.mindrecord"


def meta_path(out_prefix):
    return f"{out_prefix}.meta.json"


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def row_checksum(row):
    """sha256 over the row's fields in name order (name, then the value's bytes)."""
    h = hashlib.sha256()
    for k in sorted(SCHEMA):
        v = row[k]
        h.update(k.encode())
        if isinstance(v, (bytes, bytearray)):
            h.update(bytes(v))
        elif isinstance(v, np.ndarray):
            h.update(np.ascontiguousarray(v, dtype=np.float32).tobytes())
        else:
            h.update(str(v).encode())
    return h.hexdigest()


def _png(a):
    ok, buf = cv2.imencode(".png", a)
    if not ok:
        raise io.SampleError("<memory>", "PNG encoding failed")
    return buf.tobytes()


def _density_png(record, root):
    path = record.resolve(root, "density")
    m = io.load_map(path, record.extra.get("density_var"))          # validates the file
    if path.lower().endswith(".png"):
        with open(path, "rb") as f:
            return f.read(), m.shape
    hi = float(m.max())
    scaled = np.zeros(m.shape, np.uint16) if hi <= 0 else np.round(
        np.clip(m, 0, None) * (65535.0 / hi)).astype(np.uint16)
    return _png(scaled), m.shape


def encode_record(record, root, index):
    """One manifest record → a MindRecord row (raises ``io.SampleError`` for bad files)."""
    image = io.load_stimulus(record, root)                           # validates the stimulus
    path = record.resolve(root, "stimulus")
    if os.path.splitext(path)[1].lower() in _JPEG_EXTS:
        with open(path, "rb") as f:
            stim = f.read()
    else:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        stim = buf.tobytes()
    density, shape = b"", image.shape[:2]
    if record.density is not None:
        density, shape = _density_png(record, root)
    fixation = b""
    if record.fixation is not None or record.fixation_points is not None:
        fixation = _png(io.load_fixations(record, root, shape) * np.uint8(255))
    audio = np.zeros(0, np.float32)
    if record.audio is not None:
        if not record.audio_window:
            raise io.SampleError(record.resolve(root, "audio"), "audio record without audio_window")
        audio = io.load_audio(record.resolve(root, "audio"), *record.audio_window, sr=SR)
    return {
        "key": f"{record.dataset}/{record.stimulus}", "dataset": record.dataset,
        "modality": record.modality, "split": record.split, "prompt_key": record.prompt_key,
        "video": record.video or "", "manifest_index": int(index),
        "frame_index": -1 if record.frame_index is None else int(record.frame_index),
        "num_frames": -1 if record.num_frames is None else int(record.num_frames),
        "height": int(image.shape[0]), "width": int(image.shape[1]),
        "stimulus": stim, "density": density, "fixation": fixation, "audio": audio,
    }


def decode_row(row):
    """A row (as read back) → ``{"image" uint8 RGB, "density" float32 | None, "fixation"
    uint8 {0,1} | None, "audio" float32 | None}``, the conventions of :mod:`aam_ms.data.io`."""
    def buf(v):
        return np.frombuffer(v if isinstance(v, (bytes, bytearray)) else v.item(), np.uint8)

    image = cv2.imdecode(buf(row["stimulus"]), cv2.IMREAD_COLOR)
    if image is None:
        raise io.SampleError(str(row.get("key")), "stored stimulus does not decode")
    out = {"image": cv2.cvtColor(image, cv2.COLOR_BGR2RGB), "density": None, "fixation": None,
           "audio": None}
    dens = buf(row["density"])
    if dens.size:
        out["density"] = cv2.imdecode(dens, cv2.IMREAD_UNCHANGED).astype(np.float32)
    fix = buf(row["fixation"])
    if fix.size:
        out["fixation"] = (cv2.imdecode(fix, cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
    audio = np.asarray(row["audio"], np.float32).reshape(-1)
    if audio.size:
        out["audio"] = audio
    return out


def _blocks(n, shards):
    """Contiguous ``[lo, hi)`` manifest ranges of the shards."""
    edges = [n * k // shards for k in range(shards + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _write_json_atomic(path, obj):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".json.tmp", dir=d)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _write_shard(records, root, lo, hi, final):
    """Write rows of records[lo:hi] into ``final`` via a partial folder; return shard state."""
    from mindspore.mindrecord import FileWriter
    partial = final + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    tmp = os.path.join(partial, os.path.basename(final))
    writer = FileWriter(tmp, shard_num=1, overwrite=True)
    writer.add_schema(SCHEMA, "aam_saliency")
    writer.add_index(["dataset", "split", "video"])
    indices, checksums, skipped, chunk = [], [], [], []
    for i in range(lo, hi):
        try:
            row = encode_record(records[i], root, i)
        except io.SampleError as e:
            skipped.append({"index": i, "stimulus": records[i].stimulus, "path": e.path,
                            "reason": e.reason})
            continue
        indices.append(i)
        checksums.append(row_checksum(row))
        chunk.append(row)
        if len(chunk) == _WRITE_CHUNK:
            writer.write_raw_data(chunk)
            chunk = []
    if chunk:
        writer.write_raw_data(chunk)
    writer.commit()
    for suffix in ("", ".db"):
        os.replace(tmp + suffix, final + suffix)
    shutil.rmtree(partial)
    return {"file": os.path.basename(final), "range": [lo, hi], "rows": len(indices),
            "manifest_indices": indices, "sha256_rows": checksums,
            "sha256_file": _sha256_file(final), "skipped": skipped}


def _fresh_state(manifest, shards, n, header):
    return {"format": FORMAT, "manifest": os.path.abspath(manifest),
            "manifest_sha256": _sha256_file(manifest), "root": header["root"], "shards": shards,
            "records": n, "schema": SCHEMA, "completed": {}, "complete": False}


def _shard_done(state, out_prefix, k):
    """A completed shard counts only if its files are present and its sha256 matches."""
    s = state["completed"].get(str(k))
    if s is None:
        return False
    path = os.path.join(os.path.dirname(os.path.abspath(out_prefix)), s["file"])
    return (os.path.isfile(path) and os.path.isfile(path + ".db")
            and _sha256_file(path) == s["sha256_file"])


def _summarise(state):
    counts, skipped = {}, []
    for k in sorted(state["completed"], key=int):
        s = state["completed"][k]
        skipped += s["skipped"]
        for n_rows, ds in s["dataset_rows"]:
            counts[ds] = counts.get(ds, 0) + n_rows
    state["counts"] = dict(sorted(counts.items()))
    state["skipped"] = skipped
    state["rows"] = sum(s["rows"] for s in state["completed"].values())


def convert(manifest, out_prefix, shards, resume=False, root=None, max_shards=None, log=print):
    """Write the shards; return the sidecar state. ``max_shards`` bounds how many shards this
    call writes (the rest is left for a later ``resume=True`` call)."""
    if shards < 1:
        raise ValueError(f"--shards must be ≥ 1, got {shards}")
    header, records = read_manifest(manifest, root)
    root = header["root"]
    out_dir = os.path.dirname(os.path.abspath(out_prefix))
    os.makedirs(out_dir, exist_ok=True)
    mpath = meta_path(out_prefix)
    state = None
    if resume and os.path.isfile(mpath):
        with open(mpath, encoding="utf-8") as f:
            state = json.load(f)
        if state.get("manifest_sha256") != _sha256_file(manifest) or state.get("shards") != shards:
            raise ValueError(f"{mpath}: made from another manifest or shard count; "
                             "convert without --resume to start again")
    if state is None:
        state = _fresh_state(manifest, shards, len(records), header)
    written = 0
    for k, (lo, hi) in enumerate(_blocks(len(records), shards)):
        final = shard_path(out_prefix, k, shards)
        if _shard_done(state, out_prefix, k):
            log(f"shard {k}: complete, skipped")
            continue
        state["completed"].pop(str(k), None)
        if max_shards is not None and written >= max_shards:
            break
        s = _write_shard(records, root, lo, hi, final)
        by_ds = {}
        for i in s["manifest_indices"]:
            by_ds[records[i].dataset] = by_ds.get(records[i].dataset, 0) + 1
        s["dataset_rows"] = [[v, ds] for ds, v in sorted(by_ds.items())]
        state["completed"][str(k)] = s
        written += 1
        state["complete"] = len(state["completed"]) == shards
        _summarise(state)
        _write_json_atomic(mpath, state)
        log(f"shard {k}: {s['rows']} rows, {len(s['skipped'])} skipped")
        for b in s["skipped"]:
            log(f"  skipped record {b['index']} ({b['stimulus']}): {b['path']}: {b['reason']}")
    return state


def shard_files(out_prefix):
    """The shard files listed in the sidecar, in order; raises if the conversion is unfinished."""
    mpath = meta_path(out_prefix)
    if not os.path.isfile(mpath):
        raise FileNotFoundError(f"{mpath}: no MindRecord sidecar (run aam_ms.data.to_mindrecord)")
    with open(mpath, encoding="utf-8") as f:
        state = json.load(f)
    if not state.get("complete"):
        raise ValueError(f"{mpath}: conversion unfinished; re-run with --resume")
    d = os.path.dirname(os.path.abspath(out_prefix))
    return [os.path.join(d, state["completed"][str(k)]["file"]) for k in range(state["shards"])]


def verify(out_prefix):
    """Read every shard back; recompute row checksums and per-dataset counts."""
    from mindspore.mindrecord import FileReader
    with open(meta_path(out_prefix), encoding="utf-8") as f:
        state = json.load(f)
    report = {"ok": bool(state.get("complete")), "rows": 0, "counts": {}, "mismatches": []}
    if not report["ok"]:
        report["mismatches"].append("conversion unfinished")
        return report
    for k, path in enumerate(shard_files(out_prefix)):
        s = state["completed"][str(k)]
        reader = FileReader(path)
        got = [(int(r["manifest_index"]), row_checksum(r), r["dataset"]) for r in reader.get_next()]
        reader.close()
        if [g[0] for g in got] != s["manifest_indices"]:
            report["mismatches"].append(f"{s['file']}: rows differ from the sidecar")
        for (i, c, ds), want in zip(got, s["sha256_rows"]):
            if c != want:
                report["mismatches"].append(f"{s['file']}: manifest record {i}: checksum mismatch")
        for _, _, ds in got:
            report["counts"][ds] = report["counts"].get(ds, 0) + 1
        report["rows"] += len(got)
    report["counts"] = dict(sorted(report["counts"].items()))
    if report["counts"] != state["counts"] or report["rows"] != state["rows"]:
        report["mismatches"].append(f"counts {report['counts']} != sidecar {state['counts']}")
    report["ok"] = not report["mismatches"]
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert an aam manifest into MindRecord shards.")
    ap.add_argument("manifest")
    ap.add_argument("out_prefix")
    ap.add_argument("--shards", type=int, required=True)
    ap.add_argument("--resume", action="store_true", help="continue, keeping completed shards")
    ap.add_argument("--verify", action="store_true", help="read back and check counts/checksums")
    ap.add_argument("--root", default=None, help="dataset root (overrides the manifest header)")
    a = ap.parse_args(argv)
    try:
        state = convert(a.manifest, a.out_prefix, a.shards, resume=a.resume, root=a.root)
    except (ValueError, OSError) as e:
        sys.exit(f"error: {e}")
    summary = {"rows": state["rows"], "counts": state["counts"], "skipped": len(state["skipped"])}
    if a.verify:
        report = verify(a.out_prefix)
        summary["verify"] = {"ok": report["ok"], "mismatches": report["mismatches"][:20]}
        print(json.dumps(summary))
        if not report["ok"]:
            sys.exit(1)
    else:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
