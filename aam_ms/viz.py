"""Pictures of what a trained model learned. ``python -m aam_ms.viz hyperbolic --run RUN``.

``hyperbolic``: the prompt hierarchy on the Lorentz manifold (paper Fig. 7). Points, all from
the model (curvature −c):

- z_txt of every registered prompt with template slots at granularity G1–G4 (G1 is one text
  shared by all prompts, so one point) and of its released text;
- the anchor z_anc (the "None" prompt's learned point);
- z_img of images from a manifest sample (default: the run's training manifest, test split).

Map to the plane (a Poincaré disk of the same curvature): a point z (space part z̃) is drawn at

    ρ = tanh(√c·r / 2),  r = d_L(O, z) = acosh(√c·z₀) / √c   (exact distance to the origin),
    direction θ from the first two principal axes of the unit directions z̃ / ‖z̃‖,

so the disk radius gives each point's exact Lorentz distance to the origin
(r = 2·atanh(ρ) / √c) and the disk, being conformal, draws angles at a point faithfully. The
entailment cone of a point z (half-aperture aper(z) = asin(2K / (√c‖z̃‖)), K = 0.1) is the set of
geodesics leaving z within aper(z) of the outward radial geodesic; its section by the plane
through O and z is drawn exactly (two geodesic arcs, circles orthogonal to the rim).

Writes ``OUT/hyperbolic.png`` (matplotlib), ``OUT/hyperbolic.html`` (plotly, self-contained,
hover for the prompt text, click the legend to hide a group) and ``OUT/hyperbolic.json`` (every
point: kind, key, level, text, r, ρ, θ, aperture; the mean r per level).
"""
import argparse
import json
import os
import sys

import numpy as np

from . import cli
from .fileio import atomic_write, write_text

LEVELS = ("G1", "G2", "G3", "G4")
LEVEL_COLOURS = {"G1": "#2ca02c", "G2": "#1f77b4", "G3": "#9467bd", "G4": "#d62728",
                 "released": "#ff7f0e", "anchor": "#000000", "image": "#7f7f7f"}


# ----------------------------------------------------------------------------- geometry

def poincare_radius(r, curv):
    """ρ = tanh(√c·r / 2): the unit-disk radius of a point at hyperbolic distance r."""
    return np.tanh(np.sqrt(curv) * np.asarray(r, np.float64) / 2.0)


def distance_from_radius(rho, curv):
    """r = 2·atanh(ρ) / √c, the inverse of :func:`poincare_radius`."""
    return 2.0 * np.arctanh(np.asarray(rho, np.float64)) / np.sqrt(curv)


def directions_2d(space):
    """Angles θ (N,) of the unit directions z̃/‖z̃‖ on their first two principal axes
    (SVD of the centred directions); a point at the origin gets θ = 0."""
    z = np.asarray(space, np.float64)
    n = np.linalg.norm(z, axis=1, keepdims=True)
    u = np.where(n > 0, z / np.maximum(n, 1e-30), 0.0)
    _, _, vt = np.linalg.svd(u - u.mean(0), full_matrices=False)
    xy = u @ vt[:2].T
    return np.arctan2(xy[:, 1], xy[:, 0])


def geodesic(p, direction, steps=64):
    """Points of the unit-disk geodesic leaving p (complex, |p| < 1) along the unit complex
    ``direction``, up to the rim: φ_p⁻¹(s·direction), φ_p⁻¹(w) = (w + p)/(1 + p̄w), s ∈ [0, 1)
    (the Möbius map φ_p moves p to 0, where geodesics are diameters, and keeps directions)."""
    s = np.linspace(0.0, 0.999, steps)
    w = s * direction
    return (w + p) / (1.0 + np.conj(p) * w)


def cone_outline(p, aperture, steps=64):
    """Closed outline (complex) of the section of p's entailment cone: the boundary geodesics at
    ±aperture from the outward radial direction, joined along the rim."""
    axis = p / abs(p) if abs(p) > 1e-12 else 1.0 + 0j
    a = geodesic(p, axis * np.exp(1j * aperture), steps)
    b = geodesic(p, axis * np.exp(-1j * aperture), steps)
    t0, t1 = np.angle(a[-1]), np.angle(b[-1])
    if t1 > t0:
        t1 -= 2 * np.pi
    rim = 0.999 * np.exp(1j * np.linspace(t0, t1, steps))
    return np.concatenate([a, rim, b[::-1]])


# ----------------------------------------------------------------------------- model points

def prompt_texts():
    """[(key, level, text)]: every registered prompt key with template slots at G1–G4 (G1 once:
    it is one text for all keys) and its released text ("released")."""
    from .data import prompts
    out = [("*", "G1", prompts.granular_prompt("None", "G1"))]
    for key in prompts.keys():
        try:
            prompts.slots(key)
        except KeyError:
            continue
        out += [(key, lv, prompts.granular_prompt(key, lv)) for lv in LEVELS[1:]]
        out.append((key, "released", prompts.get_prompt(key)))
    return out


def sample_images(manifest, split="test", count=24, seed=0):
    """``count`` image stimuli (uint8 RGB) from the manifest's image records of ``split``,
    one per stimulus file, drawn with a seeded generator; returns (images, labels)."""
    from .data.io import SampleError, load_stimulus
    from .data.manifest import read_manifest
    try:
        header, records = read_manifest(manifest)
    except (OSError, ValueError) as e:
        raise cli.UserError(f"--manifest {manifest}: {e}") from None
    seen, recs = set(), []
    for r in records:
        if r.modality == "image" and r.split == split and r.stimulus not in seen:
            seen.add(r.stimulus)
            recs.append(r)
    if not recs:
        raise cli.UserError(f"--manifest {manifest}: no image records in split {split!r}")
    pick = np.random.default_rng(seed).permutation(len(recs))[:count]
    images, labels = [], []
    for i in sorted(pick):
        try:
            images.append(load_stimulus(recs[i], header["root"]))
        except SampleError as e:
            raise cli.UserError(str(e)) from None
        labels.append(f"{recs[i].dataset}: {recs[i].stimulus}")
    return images, labels


def lorentz_points(session, texts, images, batch=16):
    """z_txt (N, D) of ``texts``, z_anc (D,), z_img (M, D) of ``images`` and the curvature c, from
    the model's own forward pass (z_img does not depend on the prompt for images). Batches are
    padded to ``batch`` rows, so one graph serves all of them."""
    import mindspore as ms
    from .inference import Engine
    model = session.model
    model.set_train(False)
    x = Engine(session, graph=False).prepare(images).asnumpy()
    emb = np.asarray(session.text.embed(list(texts)), np.float32)
    pad = lambda a, i: np.concatenate([a[i:i + batch]] * batch)[:batch] if i < len(a) \
        else np.repeat(a[:1], batch, 0)  # noqa: E731
    z_txt, z_img = [], []
    for i in range(0, max(len(texts), len(images)), batch):
        _, zi, zt, za, curv = model(ms.Tensor(pad(x, i)), ms.Tensor(pad(emb, i)))
        z_txt.append(zt.asnumpy()[:max(0, min(batch, len(texts) - i))])
        z_img.append(zi.asnumpy()[:max(0, min(batch, len(images) - i))])
    return (np.concatenate(z_txt), za.asnumpy()[0], np.concatenate(z_img),
            float(curv.asnumpy().reshape(-1)[0]))


def radii_apertures(z, curv):
    """Exact r = d_L(O, z) and aper(z) by :mod:`aam_ms.geometry.lorentz`."""
    import mindspore as ms
    from .geometry import lorentz
    t = ms.Tensor(np.asarray(z, np.float32))
    c = ms.Tensor(np.float32(curv))
    return (lorentz.dist_to_origin(t, c).asnumpy().astype(np.float64),
            lorentz.half_aperture(t, c).asnumpy().astype(np.float64))


def hyperbolic_map(z_txt, z_anc, z_img, curv):
    """Plane coordinates of all points: dict of arrays r, aperture, rho, theta, xy (N, 2) for the
    rows [texts..., anchor, images...]."""
    z = np.concatenate([z_txt, z_anc[None], z_img])
    r, aper = radii_apertures(z, curv)
    rho = poincare_radius(r, curv)
    theta = directions_2d(z)
    xy = np.stack([rho * np.cos(theta), rho * np.sin(theta)], 1)
    return {"r": r, "aperture": aper, "rho": rho, "theta": theta, "xy": xy}


# ----------------------------------------------------------------------------- drawing

def _groups(points):
    order = ["image", "anchor", "released", *LEVELS]
    return [(g, [p for p in points if p["level"] == g]) for g in order
            if any(p["level"] == g for p in points)]


def draw_png(path, points, curv, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8.5, 8.5), dpi=110)
    ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, lw=1.2, color="#444444"))
    for rr in (0.5, 1.0, 2.0, 4.0):
        rho = poincare_radius(rr, curv)
        if rho < 0.995:
            ax.add_patch(plt.Circle((0, 0), rho, fill=False, lw=0.5, ls=":", color="#999999"))
            ax.annotate(f"r={rr:g}", (rho * np.cos(0.35), rho * np.sin(0.35)), fontsize=7,
                        color="#777777")
    for p in points:
        if p["level"] in ("anchor", "G1", "G4"):
            c = cone_outline(complex(*p["xy"]), p["aperture"])
            ax.fill(c.real, c.imag, color=LEVEL_COLOURS[p["level"]],
                    alpha=0.10 if p["level"] == "anchor" else 0.03, lw=0)
    for g, pts in _groups(points):
        xy = np.array([p["xy"] for p in pts])
        mean_r = np.mean([p["r"] for p in pts])
        ax.scatter(xy[:, 0], xy[:, 1], s=80 if g in ("anchor", "G1") else 22,
                   marker="*" if g == "anchor" else ("s" if g == "image" else "o"),
                   color=LEVEL_COLOURS[g], label=f"{g} (n={len(pts)}, mean r={mean_r:.3f})",
                   zorder=3, edgecolors="white", linewidths=0.4)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", bbox_inches="tight")
    plt.close(fig)


def draw_html(path, points, curv, title):
    import plotly.graph_objects as go
    fig = go.Figure()
    rim = np.exp(1j * np.linspace(0, 2 * np.pi, 256))
    fig.add_trace(go.Scatter(x=rim.real, y=rim.imag, mode="lines", line=dict(color="#444"),
                             hoverinfo="skip", name="rim (r = ∞)"))
    for lv in ("anchor", *LEVELS, "released"):
        xs, ys = [], []
        for p in points:
            if p["level"] == lv:
                c = cone_outline(complex(*p["xy"]), p["aperture"])
                xs += list(c.real) + [c.real[0], None]
                ys += list(c.imag) + [c.imag[0], None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", hoverinfo="skip",
                                     line=dict(width=0.5, color=LEVEL_COLOURS[lv]), opacity=0.25,
                                     name=f"cones {lv}", visible=True if lv == "anchor" else
                                     "legendonly"))
    for g, pts in _groups(points):
        fig.add_trace(go.Scatter(
            x=[p["xy"][0] for p in pts], y=[p["xy"][1] for p in pts], mode="markers",
            marker=dict(color=LEVEL_COLOURS[g], size=14 if g == "anchor" else 8,
                        symbol="star" if g == "anchor" else ("square" if g == "image" else "circle")),
            name=f"{g} (mean r={np.mean([p['r'] for p in pts]):.3f})",
            text=[f"{p['key']} · {p['level']}<br>r = {p['r']:.4f}, aperture = "
                  f"{np.degrees(p['aperture']):.1f}°<br>{_wrap(p['text'])}" for p in pts],
            hoverinfo="text"))
    fig.update_layout(title=title, width=900, height=900, template="plotly_white",
                      xaxis=dict(range=[-1.05, 1.05], visible=False),
                      yaxis=dict(range=[-1.05, 1.05], visible=False, scaleanchor="x"))
    write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))


def _wrap(text, width=70):
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "<br>".join(lines + [cur])


# ----------------------------------------------------------------------------- command

def hyperbolic(session, manifest, out, split="test", count=24, seed=0):
    """Compute the map and write ``hyperbolic.{png,html,json}`` under ``out``; return the
    summary (mean r per level, curvature, files)."""
    texts = prompt_texts()
    images, labels = sample_images(manifest, split, count, seed)
    z_txt, z_anc, z_img, curv = lorentz_points(session, [t for _, _, t in texts], images)
    m = hyperbolic_map(z_txt, z_anc, z_img, curv)
    rows = [{"kind": "text", "key": k, "level": lv, "text": t} for k, lv, t in texts]
    rows.append({"kind": "anchor", "key": "None", "level": "anchor", "text": "anchor z_anc"})
    rows += [{"kind": "image", "key": lab.split(":")[0], "level": "image", "text": lab}
             for lab in labels]
    for i, p in enumerate(rows):
        p.update(r=float(m["r"][i]), rho=float(m["rho"][i]), theta=float(m["theta"][i]),
                 aperture=float(m["aperture"][i]), xy=[float(v) for v in m["xy"][i]])
    mean_r = {g: float(np.mean([p["r"] for p in pts])) for g, pts in _groups(rows)}
    title = (f"Lorentz points on a Poincaré disk (c = {curv:.3f}); radius ρ = tanh(√c·r/2), "
             f"r = distance to the origin")
    files = output_files(out)
    _refuse_foreign(files)
    draw_png(files["png"], rows, curv, title)
    draw_html(files["html"], rows, curv, title)
    summary = {"curvature": curv, "mean_r": mean_r, "g1_closer_than_g4":
               mean_r.get("G1", np.inf) < mean_r.get("G4", -np.inf), "files": files}
    write_text(files["json"], json.dumps({**summary, "points": rows}, indent=1))
    return summary


def output_files(out):
    return {k: os.path.join(out, f"hyperbolic.{k}") for k in ("png", "html", "json")}


def _refuse_foreign(files):
    """Overwrite earlier outputs of this tool only (their hyperbolic.json lists its points)."""
    present = [p for p in files.values() if os.path.exists(p)]
    if not present:
        return
    try:
        with open(files["json"], encoding="utf-8") as f:
            ours = "points" in json.load(f)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise cli.UserError(f"{present[0]} exists and was not written by aam_ms.viz; "
                            "choose another --out")


def main(argv=None):
    from .inference import add_model_args, open_session
    ap = argparse.ArgumentParser(prog="python -m aam_ms.viz", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hyperbolic", help="prompt / anchor / image points on a Poincaré disk")
    add_model_args(h)
    h.add_argument("--manifest", help="manifest of the image sample (default: the run's "
                   "data.train) and of its prompts.yaml")
    h.add_argument("--split", default="test")
    h.add_argument("--images", type=int, default=24, help="number of images drawn (z_img)")
    h.add_argument("--seed", type=int, default=0)
    h.add_argument("--out", help="output folder (default: RUN/viz)")
    a = ap.parse_args(argv)
    if a.images < 1:
        raise cli.UserError(f"--images must be ≥ 1, got {a.images}")
    if not a.out and not a.run:
        raise cli.UserError("--out is required with --config/--checkpoint")
    out = a.out or os.path.join(a.run, "viz")
    _refuse_foreign(output_files(out))             # before the model loads: fail fast
    session = open_session(a)
    manifest = a.manifest or (session.cfg.get("data") or {}).get("train")
    if not manifest or not os.path.isfile(manifest):
        raise cli.UserError(f"--manifest: give the manifest of the image sample (the run's "
                            f"data.train {manifest!r} is not a file)")
    from .data.prompts import register_corpus_prompts
    try:
        register_corpus_prompts(manifest)
    except ValueError as e:
        raise cli.UserError(str(e)) from None
    s = hyperbolic(session, manifest, out, a.split, a.images, a.seed)
    print(json.dumps({k: v for k, v in s.items()}, indent=1))
    return 0


def cli_main():
    sys.exit(cli.run(main, prog="aam-viz"))


if __name__ == "__main__":
    cli_main()
