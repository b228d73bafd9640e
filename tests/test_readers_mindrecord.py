"""Every dataset fixture end to end: reader → manifest → MindRecord (the corrupted file is
skipped and reported, not fatal) → verified shards → normalised model batches."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fixtures_datasets import FIXTURES, every_frame_plan, make_csv256, make_dhf1k_official  # noqa: E402

from aam_ms.data import pipeline as P, readers  # noqa: E402
from aam_ms.data.manifest import write_manifest  # noqa: E402
from aam_ms.data.to_mindrecord import convert, verify  # noqa: E402

CASES = [(k, FIXTURES[k]) for k in FIXTURES] + [("DHF1K", make_dhf1k_official),
                                               ("OSIE", make_csv256)]
SIZE = (32, 32)
CLIP = 2


@pytest.mark.parametrize("name,make", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_fixture_round_trips_through_mindrecord(tmp_path, name, make):
    root = tmp_path / "data"
    exp = make(str(root))
    records = readers.index(name, str(root))
    manifest = tmp_path / "manifest.jsonl"
    write_manifest(str(manifest), records, str(root))
    bad = [i for i, r in enumerate(records) if exp["bad"] in (r.stimulus, r.density, r.fixation, r.audio)]

    prefix = str(tmp_path / "mr" / name.lower())
    state = convert(str(manifest), prefix, shards=1, log=lambda *a: None)
    assert sorted(s["index"] for s in state["skipped"]) == bad
    assert all(exp["bad"] in s["path"].replace(os.sep, "/") for s in state["skipped"])
    verify(prefix)

    cfg = {"size": SIZE, "batch_size": 2, "clip_len": CLIP, "num_parallel_workers": 1}
    source = P.open_source(prefix)
    frames, modality = 0, records[0].modality
    for split in sorted({m["split"] for m in source.meta}):   # splits with a readable record
        ds = P.dataset_from_plan(source, every_frame_plan(source, split, 2, CLIP),
                                 P.PipelineConfig.of(cfg))
        for b in P.iterate_numpy(ds):
            x = b["image"]
            lead = x.shape[:-3]
            assert x.shape[-3:] == (3,) + SIZE and x.dtype == np.float32
            assert len(lead) == (1 if modality == "image" else 2)
            assert np.isfinite(x).all() and -2.2 < x.min() and x.max() < 2.7   # ImageNet-normalised
            assert b["density"].shape == lead + SIZE
            assert b["density"].max() <= 1.0 + 1e-6
            assert set(np.unique(b["fixation"])) <= {0.0, 1.0}
            if modality == "audio_visual":
                assert b["audio"].shape == lead + (32000,) and b["has_audio"].all()
            frames += int(np.prod(lead))
    good = len(records) - len(bad)
    if modality == "image":
        assert frames == good            # every readable image exactly once
    else:
        assert frames == good            # consecutive clips read every readable frame once
