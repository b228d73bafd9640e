"""``report.html`` of an evaluation folder: the metric table, charts and best / worst samples.

``python -m aam_ms.report EVAL_DIR [--with DIR ...]`` (``aam_ms.eval`` writes it itself) reads
``EVAL_DIR/metrics.json`` (plus the rows of the ``--with`` folders, e.g. separate ablation runs)
and the overlays under ``EVAL_DIR/samples/`` and writes ``EVAL_DIR/report.html``,
self-contained (every chart is embedded as a data URI; the image files are also written to
``EVAL_DIR/charts/``). Charts (matplotlib, only those the rows support):

- ``metrics.png``: each metric per dataset, the model (first prompt mode, first audio mode)
  against the centre-bias baseline;
- ``prompts.png``: CC per dataset under each prompt condition (correct / generic / wrong /
  paraphrase, ± the std over paraphrases);
- ``granularity.png``: CC per dataset over the prompt granularities G1–G4;
- ``audio.png``: CC per audio-visual dataset with the clip's own, no, and swapped audio;
- ``samples_<dataset>.jpg``: the best and worst samples by CC (prediction and ground truth
  overlays; JPEG, being photos).
"""
import argparse
import base64
import html
import json
import os
import sys

import numpy as np

from . import cli
from .data.io import VIDEO_EXTS
from .fileio import atomic_write, write_text

CONDITIONS = ("correct", "generic", "wrong", "paraphrase")
GRANULARITIES = ("G1", "G2", "G3", "G4")
BAR_METRICS = ("CC", "NSS", "AUC_J", "sAUC", "SIM", "KLD")
LOWER_IS_BETTER = {"KLD"}
COLOURS = {"model": "#1f77b4", "centre": "#b0b0b0", "correct": "#1f77b4", "generic": "#ff7f0e",
           "wrong": "#d62728", "paraphrase": "#2ca02c", "none": "#ff7f0e", "swapped": "#d62728"}


def _num(v):
    return float("nan") if v is None else float(v)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    """PNG for charts; JPEG (``.jpg``) for the photo grids of samples (10x smaller)."""
    plt = _plt()
    fmt = os.path.splitext(path)[1][1:]
    with atomic_write(path, mode=None, suffix="." + fmt) as tmp:
        fig.savefig(tmp, dpi=100, format="jpeg" if fmt == "jpg" else fmt,
                    **({"pil_kwargs": {"quality": 88}} if fmt == "jpg" else {}))
    plt.close(fig)
    return path


def _bars(ax, names, series, metric):
    """Grouped bars: ``series`` = [(label, [value per name], [err per name] or None)]."""
    x = np.arange(len(names))
    w = 0.8 / max(1, len(series))
    bars = []
    for k, (label, vals, err) in enumerate(series):
        off = (k - (len(series) - 1) / 2) * w
        bars.append(ax.bar(x + off, [_num(v) for v in vals], w, label=label, yerr=err,
                           color=COLOURS.get(label, None), capsize=2 if err else 0))
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_title(metric + (" (lower is better)" if metric in LOWER_IS_BETTER else ""), fontsize=10)
    ax.axhline(0, color="black", lw=0.6)
    ax.grid(axis="y", alpha=0.3)
    return bars


def _index(rows):
    return {(r["dataset"], r["prompt_mode"], r.get("audio_mode", "-")): r for r in rows}


def primary_run(meta):
    """(prompt mode, audio mode) of the model rows the baseline chart shows."""
    pm = (meta.get("prompt_modes") or ["correct"])[0]
    am = (meta.get("audio_modes") or ["correct"])[0]
    return pm, am


def _model_row(by, ds, pm, am):
    return by.get((ds, pm, am)) or by.get((ds, pm, "-"))


def chart_metrics(rows, meta, path):
    """Per-dataset metric bars: model vs centre baseline (either may be absent)."""
    plt = _plt()
    by = _index(rows)
    pm, am = primary_run(meta)
    names = sorted({r["dataset"] for r in rows})
    model = [_model_row(by, ds, pm, am) for ds in names]
    centre = [by.get((ds, "centre_baseline", "-")) for ds in names]
    series = []
    if any(model):
        series.append(("model", model))
    if any(centre):
        series.append(("centre", centre))
    if not series:
        return None
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, m in zip(axes.ravel(), BAR_METRICS):
        _bars(ax, names, [(lab, [r.get(m) if r else None for r in rs], None)
                          for lab, rs in series], m)
    label = f"model ({pm}" + (f", audio {am})" if am != "correct" else ")")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, [label if lab == "model" else "centre-bias baseline" for lab in labels],
               loc="upper right", fontsize=9)
    fig.suptitle("Metrics per dataset", fontsize=12)
    fig.tight_layout(rect=(0, 0, 0.9, 0.95))
    return _save(fig, path)


def _mode_chart(rows, modes, path, title, audio=False):
    """CC per dataset under each of ``modes`` (prompt modes, or audio modes with ``audio``)."""
    plt = _plt()
    key = "audio_mode" if audio else "prompt_mode"
    present = [m for m in modes if any(r[key] == m and r.get("CC") is not None
                                       and not (audio and r["prompt_mode"] == "centre_baseline")
                                       for r in rows)]
    if len(present) < 2:
        return None
    names = sorted({r["dataset"] for r in rows if r[key] in present})
    first_pm = next((r["prompt_mode"] for r in rows if r["prompt_mode"] != "centre_baseline"), None)
    series = []
    for m in present:
        vals, errs = [], []
        for ds in names:
            match = [r for r in rows if r["dataset"] == ds and r[key] == m
                     and (not audio or r["prompt_mode"] == first_pm)]
            r = match[0] if match else None
            vals.append(r.get("CC") if r else None)
            errs.append(_num(r.get("CC_std")) if r and r.get("CC_std") is not None else 0.0)
        series.append((m, vals, errs if any(errs) else None))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names) * len(present) / 2 + 3), 4.2))
    bars = _bars(ax, names, series, "CC")
    if len(names) * len(present) <= 24:                  # values on the bars when legible
        for b in bars:
            ax.bar_label(b, fmt="%.3f", fontsize=7, padding=2)
    ax.margins(y=0.12)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def chart_samples(out, entries, ds, path):
    """The best and worst samples of ``ds``: a column per sample, prediction over ground truth."""
    import cv2
    plt = _plt()
    items = sorted([e for e in entries if e["dataset"] == ds],
                   key=lambda e: (e["kind"] != "best", e["rank"]))
    if not items:
        return None
    fig, axes = plt.subplots(2, len(items), figsize=(2.3 * len(items), 4.6), squeeze=False)
    for k, e in enumerate(items):
        for row, what in enumerate(("pred", "gt")):
            img = cv2.imread(os.path.join(out, e[what]), cv2.IMREAD_COLOR)
            ax = axes[row, k]
            if img is not None:
                ax.imshow(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{e['kind']} {e['rank']}\nCC {e['CC']:.3f}", fontsize=9,
                             color="#1a7f1a" if e["kind"] == "best" else "#b22222")
            if k == 0:
                ax.set_ylabel("prediction" if what == "pred" else "ground truth", fontsize=9)
            if row == 1:
                rec = e["record"]
                label = os.path.splitext(os.path.basename(rec))[0]
                if e.get("frame_index") is not None:          # a video frame: <video> #<frame>
                    video = rec if rec.lower().endswith(VIDEO_EXTS) else os.path.dirname(rec)
                    label = f"{os.path.splitext(os.path.basename(video))[0]} #{e['frame_index']}"
                ax.set_xlabel(label, fontsize=8)
    fig.suptitle(f"{ds}: best and worst samples by CC", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def _img_tag(path, alt):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    mime = "image/jpeg" if path.endswith(".jpg") else "image/png"
    return (f'<figure><img alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


def cell(row, column):
    """A table cell as report.html shows it: ``eval.fmt``, a missing metric as ``nan`` (as in
    metrics.md; metrics.json stores NaN as null)."""
    from .eval import METRICS, fmt
    v = row.get(column)
    return "nan" if v is None and column in METRICS else fmt(v)


def _table(rows, columns, table_id):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r, c))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:8px 0 20px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:8px}
img{max-width:100%;border:1px solid #ddd}figcaption{font-size:12px;color:#555}
.warn{background:#fff3cd;border:1px solid #e0c36c;padding:8px}"""


def _load(folder):
    path = os.path.join(folder, "metrics.json")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise cli.UserError(f"{path}: not a readable eval result ({e})") from None
    if not isinstance(meta, dict) or "rows" not in meta:
        raise cli.UserError(f"{path}: not an aam_ms.eval metrics.json (no 'rows')")
    return meta


def merge(meta, others):
    """``meta`` plus the rows (and skipped records) of other eval results that it lacks,
    keyed by (dataset, prompt mode, audio mode): e.g. a separate ablation run."""
    rows = list(meta["rows"])
    have = {(r["dataset"], r["prompt_mode"], r.get("audio_mode", "-")) for r in rows}
    skipped = list(meta.get("skipped") or [])
    seen = {(s["dataset"], s["path"]) for s in skipped}
    for o in others:
        for r in o["rows"]:
            k = (r["dataset"], r["prompt_mode"], r.get("audio_mode", "-"))
            if k not in have:
                rows.append(r)
                have.add(k)
        skipped += [s for s in o.get("skipped") or [] if (s["dataset"], s["path"]) not in seen]
        seen |= {(s["dataset"], s["path"]) for s in o.get("skipped") or []}
    return dict(meta, rows=rows, skipped=skipped)


def write_report(out, also=()):
    """Charts + ``report.html`` for the evaluation folder ``out`` (plus the rows of the eval
    folders ``also``, see :func:`merge`); returns the HTML path."""
    from .eval import MD_COLUMNS
    meta = merge(_load(out), [_load(d) for d in also])
    rows, entries = meta["rows"], meta.get("extremes") or []
    charts = os.path.join(out, "charts")
    made = [(chart_metrics(rows, meta, os.path.join(charts, "metrics.png")),
             "Metrics per dataset: model vs centre-bias baseline"),
            (_mode_chart(rows, CONDITIONS, os.path.join(charts, "prompts.png"),
                         "Prompt conditions (CC): correct / generic / wrong / paraphrase"),
             "Prompt ablation: condition swap and paraphrases"),
            (_mode_chart(rows, GRANULARITIES, os.path.join(charts, "granularity.png"),
                         "Prompt granularity G1 (generic) … G4 (specific), CC"),
             "Prompt ablation: granularity G1–G4"),
            (_mode_chart(rows, ("correct", "none", "swapped"),
                         os.path.join(charts, "audio.png"),
                         "Audio: the clip's own / none / another clip's (CC)", audio=True),
             "Audio-swap ablation")]
    for ds in sorted({e["dataset"] for e in entries}):
        made.append((chart_samples(out, entries, ds, os.path.join(charts, f"samples_{ds}.jpg")),
                     f"{ds}: best and worst samples"))
    parts = [f"<h1>Evaluation report</h1><p>manifest <code>{html.escape(str(meta.get('manifest')))}"
             f"</code>, split <code>{html.escape(str(meta.get('split')))}</code>, checkpoint "
             f"<code>{html.escape(str(meta.get('checkpoint')))}</code></p>"]
    skipped = meta.get("skipped") or []
    if skipped:
        parts.append(f'<p class="warn" id="skipped-summary">{len(skipped)} record(s) skipped '
                     "(not scored); see the list below.</p>")
    parts.append("<h2>Charts</h2>" + "".join(_img_tag(p, alt) for p, alt in made if p))
    parts.append("<h2>Metrics</h2>" + _table(rows, MD_COLUMNS, "metrics"))
    if skipped:
        parts.append("<h2>Skipped records</h2>" + _table(
            skipped, ("dataset", "record", "path", "reason"), "skipped"))
    doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>AAM evaluation</title>"
           f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
    target = os.path.join(out, "report.html")
    write_text(target, doc)
    return target


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_dir", help="an aam_ms.eval --out folder (the report goes there)")
    ap.add_argument("--with", dest="also", nargs="+", default=[], metavar="DIR",
                    help="other eval folders whose rows join the tables and charts "
                         "(e.g. a prompt- or audio-ablation run)")
    a = ap.parse_args(argv)
    for d in [a.eval_dir] + a.also:
        if not os.path.isdir(d):
            raise cli.UserError(f"{d}: no such folder")
    print(write_report(a.eval_dir, a.also))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
