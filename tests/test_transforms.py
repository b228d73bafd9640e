"""The one preprocessing path (aam_ms.data.transforms) against the released operators."""
import numpy as np
import pytest
from PIL import Image

from aam_ms.data import transforms

INPUT = {"size": [448, 448], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _frame(h=360, w=640, seed=0):
    rng = np.random.default_rng(seed)
    # smooth structure plus noise, like a photo
    yy, xx = np.mgrid[0:h, 0:w]
    base = 127 + 100 * np.sin(xx / 23.0)[..., None] * np.cos(yy / 17.0)[..., None]
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(360, 640), (100, 150), (448, 300)])
def test_resize_frame_matches_pil_bilinear_within_one_grey_level(shape):
    rgb = _frame(*shape)
    ours = transforms.resize_frame(rgb, (448, 448))
    pil = np.asarray(Image.fromarray(rgb).resize((448, 448), Image.BILINEAR), np.float32) / 255
    assert ours.dtype == np.float32 and ours.shape == (448, 448, 3)
    assert np.abs(ours - pil).max() * 255 <= 1.0 + 1e-3


def test_resize_frame_matches_torch_antialias_on_floats():
    torch = pytest.importorskip("torch")
    rgb = _frame()
    ours = transforms.resize_frame(rgb, (448, 448))
    x = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None]
    ref = torch.nn.functional.interpolate(x, (448, 448), mode="bilinear", antialias=True,
                                          align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() * 255 < 0.02


def test_resize_map_is_cv2_linear_and_normalize_layout():
    import cv2
    m = np.random.default_rng(1).random((36, 64)).astype(np.float32)
    np.testing.assert_array_equal(transforms.resize_map(m, (50, 40)),
                                  cv2.resize(m, (40, 50), interpolation=cv2.INTER_LINEAR))
    x = np.full((2, 4, 5, 3), 0.5, np.float32)
    y = transforms.normalize(x, INPUT["mean"], INPUT["std"])
    assert y.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(y[0, :, 0, 0], (0.5 - np.array(INPUT["mean"])) / INPUT["std"],
                               rtol=1e-6)


def test_to_model_input_shape_and_values():
    frames = [_frame(seed=s) for s in range(2)]
    x = transforms.to_model_input(frames, INPUT)
    assert x.shape == (2, 3, 448, 448) and x.dtype == np.float32
    want = transforms.normalize(transforms.resize_frame(frames[1], (448, 448)), INPUT["mean"],
                                INPUT["std"])
    np.testing.assert_array_equal(x[1], want)
