"""mindspore.dataset pipeline: shapes, normalisation, augmentation, determinism, sharding,
sampling ratio, phased audio-visual data, bad samples, and MindRecord = manifest."""
import logging
import shutil

import cv2
import numpy as np
import pytest

from aam_ms.data import io, synth
from aam_ms.data import pipeline as P
from aam_ms.data import to_mindrecord as tm
from aam_ms.data import transforms
from aam_ms.data.manifest import read_manifest
from fixtures_datasets import every_frame_plan

CFG = dict(size=(64, 64), batch_size=4, video_batch_size=1, clip_len=4, clips_per_video=1,
           num_parallel_workers=2, av_start_epoch=0, seed=5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    synth.generate(str(out), "tiny", seed=2)
    return str(out / "manifest.jsonl"), str(out)


def _batches(ds):
    return list(P.iterate_numpy(ds))


def _expected_image(rec, root, size=(64, 64)):
    """The released frame resize (antialiased bilinear) of the stimulus, in [0, 1]."""
    return transforms.resize_frame(io.load_image(rec.resolve(root, "stimulus")), size)


def test_eval_shapes_dtypes_and_normalisation(corpus):
    manifest, root = corpus
    _, recs = read_manifest(manifest)
    src = P.open_source(manifest)
    bs = _batches(P.dataset_from_plan(src, every_frame_plan(src, "val"), P.PipelineConfig.of(CFG)))
    img = [b for b in bs if b["image"].ndim == 4]
    vid = [b for b in bs if b["image"].ndim == 5]
    assert sum(len(b["index"]) for b in img) == sum(r.modality == "image" and r.split == "val" for r in recs)
    b = img[0]
    assert b["image"].shape == (4, 3, 64, 64) and b["image"].dtype == np.float32
    assert b["density"].shape == b["fixation"].shape == (4, 64, 64)
    assert b["audio"].shape == (4, 0) and not b["has_audio"].any()
    assert b["index"].shape == b["prompt"].shape == b["dataset"].shape == (4,)
    rec = recs[int(b["index"][0])]
    raw = b["image"][0].transpose(1, 2, 0) * np.asarray(P.IMAGENET_STD) + np.asarray(P.IMAGENET_MEAN)
    assert np.abs(raw - _expected_image(rec, root)).max() < 1e-5
    assert np.allclose(b["density"].reshape(4, -1).max(1), 1.0)
    assert set(np.unique(b["fixation"])) == {0.0, 1.0}
    src = io.load_fixations(rec, root)
    assert b["fixation"][0].sum() == io.points_to_map(np.argwhere(src), src.shape, (64, 64)).sum()
    assert b["prompt"][0] == sorted(synth.PROMPTS).index(rec.prompt_key)
    av = [b for b in vid if b["has_audio"].all()]
    assert av and av[0]["image"].shape == (1, 4, 3, 64, 64) and av[0]["audio"].shape == (1, 4, 32000)
    idx = av[0]["index"][0]
    assert np.all(np.diff(idx) == 1)                                     # consecutive frames
    r = recs[int(idx[2])]
    np.testing.assert_array_equal(av[0]["audio"][0, 2], io.load_audio(r.resolve(root, "audio"), *r.audio_window))
    # every val frame of every video is covered
    frames = {int(i) for b in vid for i in b["index"].ravel()}
    assert frames == {i for i, r in enumerate(recs) if r.video and r.split == "val"}


def test_flip_consistent_and_seed_deterministic(corpus):
    manifest, root = corpus
    _, recs = read_manifest(manifest)
    cfg = dict(CFG, hflip_prob=1.0, reverse_prob=1.0, steps_per_epoch=6)
    a = _batches(P.build_train_dataset(cfg, manifest, epoch=1))
    again = _batches(P.build_train_dataset(cfg, manifest, epoch=1))
    assert len(a) == 6
    for x, y in zip(a, again):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    other = _batches(P.build_train_dataset(dict(cfg, seed=6), manifest, epoch=1))
    assert any(not np.array_equal(x["index"], y["index"]) for x, y in zip(a, other))
    for b in a:
        if b["image"].ndim == 4:
            rec = recs[int(b["index"][0])]
            raw = b["image"][0].transpose(1, 2, 0) * np.asarray(P.IMAGENET_STD) + np.asarray(P.IMAGENET_MEAN)
            assert np.abs(raw - _expected_image(rec, root)[:, ::-1]).max() < 1e-5
            fix = io.points_to_map(np.argwhere(io.load_fixations(rec, root)), (72, 96), (64, 64))
            np.testing.assert_array_equal(b["fixation"][0], fix[:, ::-1])
        elif not b["has_audio"].any():                                   # video: reversed clip
            assert np.all(np.diff(b["index"][0]) < 0)
        else:                                                            # AV: never augmented
            assert np.all(np.diff(b["index"][0]) > 0)


def test_two_shards_disjoint_and_union_all(corpus):
    manifest, _ = corpus
    src = P.open_source(manifest)
    cfg = dict(CFG, batch_size=1, image_video_ratio=(1, 0))
    steps = P.plan_epoch(cfg, src, epoch=0, num_shards=2)
    shards = [{int(i) for b in _batches(P.build_train_dataset(cfg, src, 0, 2, k)) for i in b["index"].ravel()}
              for k in range(2)]
    assert not shards[0] & shards[1]
    train_images = {m["index"] for m in src.meta if m["split"] == "train" and m["modality"] == "image"}
    assert shards[0] | shards[1] == {r for s in steps for b in s for rows in b.rows for r in rows}
    assert len(train_images - (shards[0] | shards[1])) <= 4             # one odd image per dataset
    assert len(shards[0]) == len(shards[1])


def test_image_video_ratio_and_phased_audio_visual(corpus):
    manifest, _ = corpus
    src = P.open_source(manifest)
    cfg = dict(CFG, batch_size=2, clips_per_video=4, av_start_epoch=10)
    kinds, av = [], {}
    for epoch in range(40):
        steps = P.plan_epoch(cfg, src, epoch=epoch)
        kinds += [s[0].kind for s in steps]
        av[epoch] = sum(s[0].has_audio for s in steps)
    frac = np.mean([k == "video" for k in kinds])
    assert len(kinds) > 1000 and abs(frac - 0.6) < 0.04, (len(kinds), frac)
    assert all(av[e] == 0 for e in range(10)) and all(av[e] > 0 for e in range(10, 40))
    assert P.av_active(10, 10) and not P.av_active(9, 10)


def test_corrupted_file_skipped_and_reported(corpus, tmp_path, caplog):
    manifest, root = corpus
    _, recs = read_manifest(manifest)
    data = tmp_path / "data"
    shutil.copytree(root, data, ignore=shutil.ignore_patterns("true"))
    bad = next(i for i, r in enumerate(recs) if r.dataset == "synth_reading" and r.split == "train")
    p = data / recs[bad].stimulus
    p.write_bytes(p.read_bytes()[:300])
    cfg = dict(CFG, num_parallel_workers=1, image_video_ratio=(1, 0))
    with caplog.at_level(logging.WARNING, logger="aam_ms.data.pipeline"):
        bs = _batches(P.build_train_dataset(cfg, manifest, root=str(data), datasets=["synth_reading"]))
    seen = [int(i) for b in bs for i in b["index"]]
    planned = P.plan_epoch(cfg, P.open_source(manifest, str(data)), datasets=["synth_reading"])
    assert bad not in seen and len(seen) == sum(len(s[0].rows) for s in planned) - 1
    assert any("truncated JPEG" in m and recs[bad].stimulus in m for m in caplog.messages)
    assert sorted(len(b["index"]) for b in bs)[0] == 3                  # that batch shrank by one


def test_mindrecord_source_gives_the_same_batches(corpus, tmp_path):
    manifest, _ = corpus
    prefix = str(tmp_path / "mr")
    tm.convert(manifest, prefix, 2, log=lambda *_: None)
    cfg = dict(CFG, steps_per_epoch=5)
    a = _batches(P.build_train_dataset(cfg, manifest, epoch=3))
    b = _batches(P.build_train_dataset(cfg, prefix, epoch=3))
    assert len(a) == len(b) == 5
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="unknown keys"):
        P.PipelineConfig.of({"size": (64, 64), "batchsize": 2})
