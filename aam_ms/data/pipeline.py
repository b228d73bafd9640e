"""Training and evaluation input pipelines on ``mindspore.dataset``.

Structure: a Python *plan* (which frames form which batch, and each sample's augmentation)
is computed up front from a seed, the epoch and the shard, so the same seed gives the same
batches with any number of workers. The plan's frame order drives a row-level dataset
(``GeneratorDataset`` over :func:`aam_ms.data.io.load_sample` for a manifest, ``MindDataset``
for MindRecord shards) through a ``SubsetSampler``; rows are decoded and resized to the model
size in parallel workers, then a ``batch`` op with per-batch sizes stacks each planned batch.

Batch columns (B samples, T frames; image batches have no T axis):
- ``image``    float32 (B, 3, H, W) or (B, T, 3, H, W): resized and normalised by
               :mod:`aam_ms.data.transforms` (mean / std of the model config), CHW;
- ``density``  float32 (B, H, W) or (B, T, H, W): the density map scaled to max 1 (sum-normalise
               it for the losses);
- ``fixation`` float32 {0, 1}, same shape as ``density`` (fixations resampled point-wise);
- ``audio``    float32 (B, T, 32000) for audio-visual batches, else (B, T, 0) / (B, 0);
- ``has_audio`` bool (B,); ``prompt`` / ``dataset`` int32 (B,) indices into the caller's
  prompt table and dataset list; ``index`` int32 (B, T) / (B,) manifest indices of the frames.

Training follows the released loaders: horizontal flip p = 0.5 for image and video samples
(applied to image, density and fixation alike; the released video loader leaves fixations
unflipped, a defect not reproduced), temporal reversal p = 0.5 for video clips, no
augmentation for audio-visual clips, clip frame step drawn from ``strides`` (1–4 on DHF1K).
A batch holds one dataset (the released group sampler). Each step is an image batch or a
video batch with odds ``image_video_ratio`` (4:6); audio-visual data join at
``av_start_epoch``. Samples whose files fail to decode are dropped from their batch with a
logged reason (the batch shrinks; the epoch continues).
"""
import dataclasses
import logging
import os
from typing import Optional, Tuple

import numpy as np

from aam_ms.data import io, transforms
from aam_ms.data.manifest import read_manifest

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)     # defaults of input.mean / input.std
IMAGENET_STD = (0.229, 0.224, 0.225)
ROW_COLUMNS = ["image", "density", "fixation", "audio", "ok", "index"]
BATCH_COLUMNS = ["image", "density", "fixation", "audio", "has_audio", "prompt", "dataset", "index"]


@dataclasses.dataclass
class PipelineConfig:
    size: Tuple[int, int] = (448, 448)          # model input (H, W)
    batch_size: int = 32                        # samples per image batch
    video_batch_size: int = 1                   # clips per video batch
    clip_len: int = 16                          # T frames per training clip
    strides: Tuple[int, ...] = (1,)             # frame-step choices for training clips
    clips_per_video: int = 2                    # training clips drawn per video per epoch
    image_video_ratio: Tuple[float, float] = (4.0, 6.0)
    av_start_epoch: int = 10                    # audio-visual data from this epoch (0-based) on
    hflip_prob: float = 0.5
    reverse_prob: float = 0.5                   # temporal reversal of (non-AV) video clips
    drop_remainder: bool = True                 # training: no partial batches
    steps_per_epoch: Optional[int] = None       # cap; default: until a planned pool runs out
    seed: int = 0
    num_parallel_workers: int = 2
    mean: Tuple[float, float, float] = IMAGENET_MEAN    # from the model config's input section
    std: Tuple[float, float, float] = IMAGENET_STD

    @classmethod
    def of(cls, cfg):
        """A ``PipelineConfig`` from itself or a mapping of its fields (unknown keys rejected)."""
        if isinstance(cfg, cls):
            return cfg
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(cfg) - names
        if unknown:
            raise ValueError(f"pipeline config: unknown keys {sorted(unknown)} (known: {sorted(names)})")
        c = cls(**dict(cfg))
        c.size = tuple(int(v) for v in c.size)
        c.strides = tuple(int(v) for v in c.strides)
        c.image_video_ratio = tuple(float(v) for v in c.image_video_ratio)
        c.mean = tuple(float(v) for v in c.mean)
        c.std = tuple(float(v) for v in c.std)
        return c


def av_active(epoch, av_start_epoch):
    """Phased inclusion: audio-visual data take part from epoch ``av_start_epoch`` (0-based) on."""
    return epoch >= av_start_epoch


# ----------------------------------------------------------------------------- row decoding

def _row_arrays(sample, size, index):
    """Decoded sample → the row columns at the model size: the frame by the released resize
    (:func:`aam_ms.data.transforms.resize_frame`, float32 in [0, 1]), the density map by the
    released GT resize, fixations resampled point-wise."""
    image = transforms.resize_frame(sample["image"], size)
    density = sample.get("density")
    density = (np.zeros(size, np.float32) if density is None
               else transforms.resize_map(density, size))
    fix = sample.get("fixation")
    fix = (np.zeros(size, np.uint8) if fix is None
           else io.points_to_map(np.argwhere(fix > 0), fix.shape, size))
    audio = sample.get("audio")
    audio = np.zeros(0, np.float32) if audio is None else audio.astype(np.float32)
    return image, density, fix, audio, np.int32(1), np.int32(index)


def _bad_row(index):
    return (np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.uint8),
            np.zeros(0, np.float32), np.int32(0), np.int32(index))


class _ManifestRows:
    """Random-access rows over a manifest: ``load_sample`` + resize; bad files → ok = 0."""

    def __init__(self, records, root, size):
        self.records, self.root, self.size = records, root, tuple(size)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        i = int(i)
        try:
            return _row_arrays(io.load_sample(self.records[i], self.root), self.size, i)
        except io.SampleError as e:
            log.warning("skipped bad sample %d (%s): %s", i, self.records[i].stimulus, e)
            return _bad_row(i)


class _DecodeMindRecord:
    """``map`` operation: MindRecord row → the row columns at the model size."""

    def __init__(self, size):
        self.size = tuple(size)

    def __call__(self, stimulus, density, fixation, audio, manifest_index):
        from aam_ms.data.to_mindrecord import decode_row
        row = {"stimulus": stimulus, "density": density, "fixation": fixation, "audio": audio,
               "key": int(manifest_index)}
        try:
            return _row_arrays(decode_row(row), self.size, int(manifest_index))
        except io.SampleError as e:
            log.warning("skipped bad MindRecord row (manifest index %d): %s", int(manifest_index), e)
            return _bad_row(int(manifest_index))


class ManifestSource:
    """Rows = the records of a manifest (``root`` overrides the manifest's dataset root)."""

    def __init__(self, manifest, root=None):
        header, self.records = read_manifest(manifest, root)
        self.root = header["root"]
        self.meta = [{"dataset": r.dataset, "modality": r.modality, "split": r.split,
                      "prompt_key": r.prompt_key, "video": r.video or "",
                      "frame_index": -1 if r.frame_index is None else r.frame_index,
                      "index": i} for i, r in enumerate(self.records)]

    def rows(self, order, size, workers):
        import mindspore.dataset as ds
        return ds.GeneratorDataset(_ManifestRows(self.records, self.root, size), ROW_COLUMNS,
                                   sampler=ds.SubsetSampler(list(order)),
                                   num_parallel_workers=workers, python_multiprocessing=workers > 1)


class MindRecordSource:
    """Rows = the rows of the MindRecord shards written by :mod:`aam_ms.data.to_mindrecord`."""

    META = ["dataset", "modality", "split", "prompt_key", "video", "frame_index", "manifest_index"]

    def __init__(self, out_prefix):
        import mindspore.dataset as ds
        from aam_ms.data.to_mindrecord import shard_files
        self.files = shard_files(out_prefix)
        scan = ds.MindDataset(self.files, columns_list=self.META, shuffle=False)
        self.meta = []
        for row in scan.create_dict_iterator(num_epochs=1, output_numpy=True):
            m = {k: (row[k].item().decode() if row[k].dtype.kind == "S" else
                     row[k].item() if row[k].dtype.kind != "U" else str(row[k]))
                 for k in self.META}
            m["index"] = int(m.pop("manifest_index"))
            self.meta.append(m)

    def rows(self, order, size, workers):
        """Rows in ``order`` (repeats allowed). ``MindDataset`` refuses a subset sampler longer
        than the shards, which plans with overlapping clips need, so a long order is read as
        consecutive parts of at most that length, concatenated."""
        import mindspore.dataset as ds
        cols = ["stimulus", "density", "fixation", "audio", "manifest_index"]
        order, n, d = list(order), len(self.meta), None
        for i in range(0, len(order), n):
            part = ds.MindDataset(self.files, columns_list=cols,
                                  sampler=ds.SubsetSampler(order[i:i + n]),
                                  num_parallel_workers=workers)
            d = part if d is None else d + part
        return d.map(_DecodeMindRecord(size),
                     input_columns=["stimulus", "density", "fixation", "audio", "manifest_index"],
                     output_columns=ROW_COLUMNS, num_parallel_workers=workers)


def open_source(path, root=None):
    """A manifest (``.jsonl``) or a MindRecord prefix (with its ``.meta.json`` sidecar)."""
    from aam_ms.data.to_mindrecord import meta_path
    if os.path.isfile(meta_path(path)):
        return MindRecordSource(path)
    if os.path.isfile(path):
        return ManifestSource(path, root)
    raise FileNotFoundError(f"{path}: neither a manifest file nor a MindRecord prefix "
                            f"(no {meta_path(path)})")


# ----------------------------------------------------------------------------- planning

@dataclasses.dataclass
class PlannedBatch:
    kind: str                       # "image" | "video"
    rows: list                      # per sample: source row positions of its frames
    hflip: list                     # per sample
    reverse: list                   # per sample
    prompt: list                    # per sample prompt index
    dataset: list                   # per sample dataset index
    has_audio: bool


def _groups(source, split, datasets):
    """Image samples per dataset and frame rows per (dataset, video), restricted to a split."""
    images, videos = {}, {}
    for pos, m in enumerate(source.meta):
        if m["split"] != split or (datasets is not None and m["dataset"] not in datasets):
            continue
        if m["modality"] == "image":
            images.setdefault(m["dataset"], []).append(pos)
        else:
            videos.setdefault((m["dataset"], m["video"]), []).append((m["frame_index"], pos))
    videos = {k: [p for _, p in sorted(v)] for k, v in sorted(videos.items())}
    return {k: images[k] for k in sorted(images)}, videos


def _clip(frames, start, stride, t):
    """T frame rows from ``start`` with step ``stride``, clamped to the last frame."""
    return [frames[min(start + stride * i, len(frames) - 1)] for i in range(t)]


def _tables(source, prompt_keys, dataset_names):
    prompt_keys = list(prompt_keys) if prompt_keys is not None else sorted(
        {m["prompt_key"] for m in source.meta})
    dataset_names = list(dataset_names) if dataset_names is not None else sorted(
        {m["dataset"] for m in source.meta})
    missing = sorted({m["prompt_key"] for m in source.meta} - set(prompt_keys))
    if missing:
        raise ValueError(f"prompt table lacks keys {missing} used by the data")
    missing = sorted({m["dataset"] for m in source.meta} - set(dataset_names))
    if missing:
        raise ValueError(f"dataset table lacks datasets {missing} present in the data")
    return {k: i for i, k in enumerate(prompt_keys)}, {k: i for i, k in enumerate(dataset_names)}


def plan_epoch(cfg, source, epoch=0, num_shards=1, split="train", datasets=None,
               prompt_keys=None, dataset_names=None):
    """Global training plan of one epoch: a list of steps, each a list of ``num_shards``
    batches of one kind (batch ``k`` of a step goes to shard ``k``)."""
    cfg = PipelineConfig.of(cfg)
    pidx, didx = _tables(source, prompt_keys, dataset_names)
    rng = np.random.default_rng([cfg.seed, epoch])
    images, videos = _groups(source, split, datasets)
    meta = source.meta

    def finish(kind, samples, audio):
        d = meta[samples[0][0][0]]["dataset"]
        return PlannedBatch(kind=kind, rows=[s[0] for s in samples], hflip=[s[1] for s in samples],
                            reverse=[s[2] for s in samples],
                            prompt=[pidx[meta[s[0][0]]["prompt_key"]] for s in samples],
                            dataset=[didx[d]] * len(samples), has_audio=audio)

    def chunk(kind, samples, bs, audio):
        out = []
        for i in range(0, len(samples), bs):
            part = samples[i:i + bs]
            if len(part) == bs or not cfg.drop_remainder:
                out.append(finish(kind, part, audio))
        return out

    pools = {"image": [], "video": []}
    for ds_name, rows in images.items():
        order = rng.permutation(len(rows))
        samples = [([rows[j]], bool(rng.random() < cfg.hflip_prob), False) for j in order]
        pools["image"] += chunk("image", samples, cfg.batch_size, False)
    by_ds = {}
    for (ds_name, _), frames in videos.items():
        av = meta[frames[0]]["modality"] == "audio_visual"
        if av and not av_active(epoch, cfg.av_start_epoch):
            continue
        for _ in range(cfg.clips_per_video):
            ok = [s for s in cfg.strides if (cfg.clip_len - 1) * s < len(frames)] or [1]
            stride = int(rng.choice(ok))
            start = int(rng.integers(0, max(1, len(frames) - (cfg.clip_len - 1) * stride)))
            flip = (not av) and bool(rng.random() < cfg.hflip_prob)
            rev = (not av) and bool(rng.random() < cfg.reverse_prob)
            by_ds.setdefault((ds_name, av), []).append((_clip(frames, start, stride, cfg.clip_len), flip, rev))
    for (ds_name, av), samples in sorted(by_ds.items()):
        order = rng.permutation(len(samples))
        pools["video"] += chunk("video", [samples[j] for j in order], cfg.video_batch_size, av)
    for k in pools:
        pools[k] = [pools[k][j] for j in rng.permutation(len(pools[k]))]
    w_img, w_vid = cfg.image_video_ratio
    w_img, w_vid = (w_img if pools["image"] else 0.0), (w_vid if pools["video"] else 0.0)
    steps, used = [], {"image": 0, "video": 0}
    while w_img + w_vid > 0 and (cfg.steps_per_epoch is None or len(steps) < cfg.steps_per_epoch):
        kind = "video" if rng.random() < w_vid / (w_img + w_vid) else "image"
        if len(pools[kind]) - used[kind] < num_shards:
            break
        steps.append(pools[kind][used[kind]:used[kind] + num_shards])
        used[kind] += num_shards
    return steps


@dataclasses.dataclass
class EvalSet:
    """The scored records of one dataset: ``groups`` = one ``[index]`` per image, or the frame
    indices of one video in frame order (record indices into ``EvalPlan.records``)."""
    name: str
    modality: str
    groups: list


@dataclasses.dataclass
class EvalPlan:
    """What an evaluation scores (``sets``, by dataset) and what it skips (``skipped``: dicts
    with ``dataset, record, path, reason``). Fixations of the scored records are kept as
    point lists (``fixation(i)`` rebuilds the binary map); density maps are re-read on use."""
    records: list
    root: str
    sets: dict
    skipped: list
    points: dict

    def density(self, i):
        r = self.records[i]
        return io.load_map(r.resolve(self.root, "density"), r.extra.get("density_var"))

    def fixation(self, i):
        pts, shape = self.points[i]
        m = np.zeros(shape, np.uint8)
        m[pts[:, 0], pts[:, 1]] = 1
        return m


def _record_name(r):
    """The stimulus path, with ``#frame`` for a frame of a video file."""
    return f"{r.stimulus}#{r.frame_index}" if r.stimulus.lower().endswith(io.VIDEO_EXTS) \
        else r.stimulus


def plan_eval(records, root, split=None, datasets=None, max_items=None, sr=16000):
    """Which records an evaluation scores, in protocol order, and which it skips and why.

    Keeps the records of ``split`` (comma-separated; None or ``all`` = every split) and
    ``datasets``, then the first ``max_items`` images / videos of each dataset, and decodes each
    kept record once (:func:`aam_ms.data.io.load_sample`: stimulus, density map, fixations,
    audio window). A record without ground truth, or with a file that fails to decode, is
    skipped and listed; a video loses only its bad frames (the rest keep their frame order).
    Raises ``ValueError`` when the selection itself is empty."""
    splits = None if split in (None, "all") else set(split.split(","))
    names = None if not datasets else set(datasets)
    chosen = [i for i, r in enumerate(records) if (splits is None or r.split in splits)
              and (names is None or r.dataset in names)]
    if names:
        missing = names - {records[i].dataset for i in chosen}
        if missing:
            raise ValueError(f"--datasets: no records of {sorted(missing)} in split {split!r} "
                             f"(datasets there: {sorted({r.dataset for r in records if splits is None or r.split in splits})})")
    if not chosen:
        raise ValueError(f"no records in split {split!r} (splits in the manifest: "
                         f"{sorted({r.split for r in records})})")
    plan = EvalPlan(records, root, {}, [], {})

    def skip(i, path, reason):
        r = records[i]
        plan.skipped.append({"dataset": r.dataset, "record": _record_name(r), "video": r.video,
                             "frame_index": r.frame_index, "path": str(path), "reason": reason})

    by_ds = {}
    for i in chosen:
        by_ds.setdefault(records[i].dataset, []).append(i)
    for ds_name, idx in by_ds.items():
        modalities = sorted({records[i].modality for i in idx})
        if len(modalities) != 1:
            for i in idx:
                skip(i, records[i].stimulus, f"dataset {ds_name} mixes modalities {modalities}")
            continue
        if modalities[0] == "image":
            groups = [[i] for i in idx]
        else:
            videos = {}                    # (split, video id): a video listed in two folds
            for i in idx:                  # is two groups, as the protocol averages per split
                r = records[i]
                if r.video is None:
                    skip(i, r.stimulus, "video frame record without a 'video' id")
                    continue
                videos.setdefault((r.split, r.video), []).append(i)
            groups = [sorted(g, key=lambda i: records[i].frame_index or 0) for g in videos.values()]
        kept = []
        for g in groups[:max_items]:
            good = []
            for i in g:
                r = records[i]
                if r.density is None or (r.fixation is None and r.fixation_points is None):
                    skip(i, r.stimulus, "no ground truth (needs a density map and fixations; "
                                        "a test split without annotations?)")
                    continue
                try:
                    fix = io.load_sample(r, root, sr)["fixation"]
                except io.SampleError as e:
                    skip(i, e.path, e.reason)
                    continue
                plan.points[i] = (np.argwhere(fix > 0).astype(np.int32), fix.shape)
                good.append(i)
            if good:
                kept.append(good)
        if kept:
            plan.sets[ds_name] = EvalSet(ds_name, modalities[0], kept)
    return plan


# ----------------------------------------------------------------------------- batching

class _Assemble:
    """``per_batch_map``: planned batch ``n`` ← its decoded rows (sample-major, frame-minor)."""

    def __init__(self, plan, mean, std):
        self.plan, self.mean, self.std = plan, mean, std

    def __call__(self, image, density, fixation, audio, ok, index, info):
        p = self.plan[info.get_batch_num() % len(self.plan)]
        cols = {k: [] for k in BATCH_COLUMNS}
        pos = 0
        for s, rows in enumerate(p.rows):
            sl = slice(pos, pos + len(rows))
            pos += len(rows)
            if not all(int(v) for v in ok[sl]):
                bad = [int(i) for i, v in zip(index[sl], ok[sl]) if not int(v)]
                log.warning("dropped sample with unreadable frames (manifest indices %s) from a "
                            "%s batch", bad, p.kind)
                continue
            img = transforms.normalize(np.stack(image[sl]), self.mean, self.std)  # (T, 3, H, W)
            den = np.stack(density[sl]).astype(np.float32)
            den /= np.maximum(den.reshape(len(rows), -1).max(axis=1), 1e-12)[:, None, None]
            fix = np.stack(fixation[sl]).astype(np.float32)
            aud = (np.stack(audio[sl]).astype(np.float32) if p.has_audio
                   else np.zeros((len(rows), 0), np.float32))
            idx = np.asarray(index[sl], np.int32).reshape(-1)
            if p.hflip[s]:
                img, den, fix = img[..., ::-1], den[..., ::-1], fix[..., ::-1]
            if p.reverse[s]:
                img, den, fix, aud, idx = img[::-1], den[::-1], fix[::-1], aud[::-1], idx[::-1]
            if p.kind == "image":
                img, den, fix, aud, idx = img[0], den[0], fix[0], aud[0], idx[0]
            for k, v in (("image", img), ("density", den), ("fixation", fix), ("audio", aud),
                         ("index", idx)):
                cols[k].append(np.array(v))           # a contiguous copy (flips are views)
            cols["has_audio"].append(p.has_audio)
            cols["prompt"].append(p.prompt[s])
            cols["dataset"].append(p.dataset[s])
        if not cols["index"]:
            return self._empty(p, image)
        return tuple(np.stack(cols[k]) if k in ("image", "density", "fixation", "audio", "index")
                     else np.asarray(cols[k], np.bool_ if k == "has_audio" else np.int32)
                     for k in BATCH_COLUMNS)

    @staticmethod
    def _empty(p, image):
        log.warning("a planned %s batch has no readable sample left", p.kind)
        t = len(p.rows[0])
        hw = next((a.shape[:2] for a in image if a.size), (0, 0))
        lead = (0,) if p.kind == "image" else (0, t)
        return (np.zeros(lead + (3,) + hw, np.float32), np.zeros(lead + hw, np.float32),
                np.zeros(lead + hw, np.float32), np.zeros(lead + (0,), np.float32),
                np.zeros(0, np.bool_), np.zeros(0, np.int32), np.zeros(0, np.int32),
                np.zeros(lead, np.int32))


def merge_batches(batches):
    """One batch holding the samples of several planned batches of the same kind (a
    single process emulating ``len(batches)`` ranks: global batch = per-rank batch × ranks)."""
    if len(batches) == 1:
        return batches[0]
    kinds = {(b.kind, b.has_audio) for b in batches}
    if len(kinds) != 1:
        raise ValueError(f"cannot merge batches of different kinds {sorted(kinds)}")
    return PlannedBatch(kind=batches[0].kind, rows=[r for b in batches for r in b.rows],
                        hflip=[f for b in batches for f in b.hflip],
                        reverse=[f for b in batches for f in b.reverse],
                        prompt=[p for b in batches for p in b.prompt],
                        dataset=[d for b in batches for d in b.dataset],
                        has_audio=batches[0].has_audio)


def dataset_from_plan(source, plan, cfg):
    """A ``mindspore.dataset`` yielding the planned batches in order."""
    if not plan:
        raise ValueError("the plan is empty: no samples for this split / datasets / shard")
    order = [r for b in plan for rows in b.rows for r in rows]
    sizes = [sum(len(rows) for rows in b.rows) for b in plan]
    workers = max(1, int(cfg.num_parallel_workers))
    rows = source.rows(order, cfg.size, workers)
    return rows.batch(lambda info: sizes[info.get_batch_num() % len(sizes)],
                      per_batch_map=_Assemble(plan, cfg.mean, cfg.std), input_columns=ROW_COLUMNS,
                      output_columns=BATCH_COLUMNS, num_parallel_workers=workers)


def _source(data, root=None):
    return data if isinstance(data, (ManifestSource, MindRecordSource)) else open_source(data, root)


def build_train_dataset(cfg, data, epoch=0, num_shards=1, shard_id=0, prompt_keys=None,
                        dataset_names=None, split="train", datasets=None, root=None):
    """The training batches of one epoch for shard ``shard_id`` of ``num_shards`` (build a
    new one per epoch: the plan, phased AV inclusion and augmentation depend on ``epoch``).
    ``data``: manifest path, MindRecord prefix or an opened source."""
    cfg = PipelineConfig.of(cfg)
    if not 0 <= shard_id < num_shards:
        raise ValueError(f"shard_id must be in [0, {num_shards}), got {shard_id}")
    source = _source(data, root)
    steps = plan_epoch(cfg, source, epoch, num_shards, split, datasets, prompt_keys, dataset_names)
    return dataset_from_plan(source, [s[shard_id] for s in steps], cfg)


def build_eval_dataset(plan, group):
    """The stimuli of a planned group (:func:`plan_eval`) in order: ``(record index, uint8 RGB)``."""
    for i in group:
        yield i, io.load_stimulus(plan.records[i], plan.root)


def iterate_numpy(dataset):
    """Yield each batch of a pipeline dataset as a dict of numpy arrays (one pass)."""
    yield from dataset.create_dict_iterator(num_epochs=1, output_numpy=True)
