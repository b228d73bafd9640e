"""Shared fixtures: the golden reference set (its cases read from its meta.json) and the
GRAPH/PYNATIVE execution modes.

Golden set: ``AAM_GOLDEN_NPZ`` / ``AAM_GOLDEN_KEYS`` (default: the public ViT-S/16 set in
``<checkout>/../shared/golden``). Every golden test takes its cases, variant and shapes from the
set itself, so another set in the same format runs through all of them.
"""
import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

# MindSpore's failure dumps (rank_0/om/analyze_fail.ir) of in-process tests: not the checkout
os.environ.setdefault("MS_OM_PATH", tempfile.mkdtemp(prefix="aam-tests-msdump-"))

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "shared" / "golden"
GOLDEN_NPZ = Path(os.environ.get("AAM_GOLDEN_NPZ", GOLDEN_DIR / "aam_official_vits16_wr1.npz"))
GOLDEN_KEYS = Path(os.environ.get("AAM_GOLDEN_KEYS", GOLDEN_DIR / "keys.json"))
ABSENT = (f"golden reference set absent ({GOLDEN_NPZ}, {GOLDEN_KEYS}); it lives in shared/golden "
          "beside the checkout, or set AAM_GOLDEN_NPZ / AAM_GOLDEN_KEYS")


@lru_cache(maxsize=1)
def golden_index():
    """(meta.json of the golden set, names of its arrays), or None when the set is absent.
    Cheap (no array is read), so tests may parametrize over it at collection time."""
    if not GOLDEN_NPZ.is_file():
        return None
    with np.load(GOLDEN_NPZ) as z:
        return json.loads(str(z["meta.json"])), tuple(z.files)


def golden_cases(**flags):
    """Names of the meta.json cases whose flags have these values (``dynamic=True``,
    ``audio=True``, ``loss=True``, ...), in file order."""
    index = golden_index()
    if index is None:
        return []
    return [c["name"] for c in index[0]["cases"] if all(c.get(k) == v for k, v in flags.items())]


def golden_params(items, what):
    """``items`` as pytest params; one skipping param when there is none (set absent, or no
    case of the kind ``what`` in it)."""
    if items:
        return list(items)
    reason = ABSENT if golden_index() is None else f"golden set {GOLDEN_NPZ} has no {what}"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]


def golden_hooks(case, pattern):
    """``(case, int(group 1))`` for every array ``<case>.hook.<pattern>`` of the set, e.g. the
    levels of ``head\\.motion_modules\\.(\\d+)``."""
    index = golden_index()
    names = index[1] if index else ()
    rx = re.compile(re.escape(f"{case}.hook.") + pattern + "$")
    return sorted({(case, int(m.group(1))) for m in map(rx.match, names) if m})


@pytest.fixture(scope="session")
def golden_set():
    """(arrays of the golden npz, its meta.json)."""
    if golden_index() is None:
        pytest.skip(ABSENT)
    with np.load(GOLDEN_NPZ) as z:
        arrays = {k: z[k] for k in z.files if k != "meta.json"}
    return arrays, golden_index()[0]


@pytest.fixture(scope="session")
def golden(golden_set):
    """(arrays of the golden npz, WR-1 state dict of the released network)."""
    if not GOLDEN_KEYS.is_file():
        pytest.skip(ABSENT)
    from aam_ms.convert import wr1
    return golden_set[0], wr1.generate(str(GOLDEN_KEYS))


@pytest.fixture(params=["graph", "pynative"])
def mode(request):
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


def load_released(cell, torch_sd, prefix):
    """Load the released tensors under ``prefix`` into a stand-alone ``cell`` through the
    converter's name table (norm gamma/beta ↔ weight/bias); every parameter must be filled."""
    from aam_ms.convert.aam import name_table
    from aam_ms.weights import set_params
    params = {ms_name: torch_sd[f"{prefix}.{key}"] for ms_name, key in name_table(cell).items()}
    return set_params(cell, params)


# The longest files first, so that with `-n 2 --dist loadfile --no-loadscope-reorder`
# (scripts/test.sh) neither worker is left running one of them alone at the end.
LONGEST_FIRST = ("test_train_golden.py", "test_demo.py", "test_distributed_train.py",
                 "test_train.py", "test_install.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))      # stable otherwise
