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


def test_same_tensor_through_training_pipeline_eval_and_predict(tmp_path):
    """A 640×360 frame: the training pipeline's batch = the inference engine's input (what
    eval and predict feed the model) = the released resize, within 1 grey level of PIL."""
    import cv2
    from aam_ms.data import pipeline as P
    from aam_ms.data.manifest import Record, write_manifest
    from aam_ms.inference import Engine
    from aam_ms.models.registry import build_from_config
    from aam_ms.config import load_yaml
    from aam_ms.session import INPUT_DEFAULTS, Session
    rgb = _frame(360, 640, seed=3)
    cv2.imwrite(str(tmp_path / "f.png"), rgb[..., ::-1])
    den = np.random.default_rng(0).random((360, 640)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "d.png"), (den * 255).astype(np.uint8))
    fix = np.zeros((360, 640), np.uint8)
    fix[100, 200] = 255
    cv2.imwrite(str(tmp_path / "x.png"), fix)
    rec = Record("SALICON", "image", "train", "Salicon", "f.png", density="d.png", fixation="x.png")
    write_manifest(str(tmp_path / "m.jsonl"), [rec], str(tmp_path))
    cfg = {"size": (448, 448), "batch_size": 1, "hflip_prob": 0.0, "num_parallel_workers": 1}
    batch = next(iter(P.iterate_numpy(P.build_train_dataset(cfg, str(tmp_path / "m.jsonl")))))
    train_x = batch["image"][0]

    mcfg = load_yaml("configs/aam_tiny.yaml")
    session = Session({**mcfg, "input": dict(INPUT_DEFAULTS, size=[448, 448])},
                      build_from_config(mcfg["model"]))
    infer_x = Engine(session, graph=False).prepare([rgb]).asnumpy()[0]
    np.testing.assert_array_equal(train_x, infer_x)
    np.testing.assert_array_equal(infer_x, transforms.to_model_input([rgb], INPUT)[0])
    x01 = infer_x.transpose(1, 2, 0) * np.asarray(INPUT["std"]) + np.asarray(INPUT["mean"])
    pil = np.asarray(Image.fromarray(rgb).resize((448, 448), Image.BILINEAR), np.float32) / 255
    assert np.abs(x01 - pil).max() * 255 <= 1.0 + 1e-3
