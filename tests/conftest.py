"""Shared fixtures: the golden reference set and GRAPH/PYNATIVE execution modes."""
import os
from pathlib import Path

import numpy as np
import pytest

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "shared" / "golden"
GOLDEN_NPZ = Path(os.environ.get("AAM_GOLDEN_NPZ", GOLDEN_DIR / "aam_official_vits16_wr1.npz"))
GOLDEN_KEYS = Path(os.environ.get("AAM_GOLDEN_KEYS", GOLDEN_DIR / "keys.json"))


@pytest.fixture(scope="session")
def golden():
    """(arrays of the golden npz, WR-1 state dict of the released network)."""
    if not (GOLDEN_NPZ.is_file() and GOLDEN_KEYS.is_file()):
        pytest.skip(f"golden reference set absent ({GOLDEN_NPZ}, {GOLDEN_KEYS}); it lives in "
                    "shared/golden beside the checkout, or set AAM_GOLDEN_NPZ / AAM_GOLDEN_KEYS")
    from aam_ms.convert import wr1
    return np.load(GOLDEN_NPZ), wr1.generate(str(GOLDEN_KEYS))


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
    from aam_ms.convert.common import load_params
    params = {ms_name: torch_sd[f"{prefix}.{key}"] for ms_name, key in name_table(cell).items()}
    return load_params(cell, params)
