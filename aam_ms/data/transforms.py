"""The one preprocessing path of training, evaluation, prediction and streaming.

Released loaders: frames go through torchvision ``Resize((H, W))`` (bilinear with antialias:
the PIL filter on PIL video frames, the same filter on float tensors for images), then
``ToTensor`` (÷255) and ``Normalize(mean, std)``; ground-truth maps go through ``cv2.resize``
with ``INTER_LINEAR``. Here a frame is resized in float32 with PIL's bilinear filter (mode
``F``, one channel at a time): the antialiased triangle filter whose support widens with the
shrink factor, identical to torch's ``interpolate(..., antialias=True)`` on floats (≤ 0.01
grey level) and within 1 grey level of PIL's uint8 path (its fixed-point rounding).
"""
import cv2
import numpy as np
from PIL import Image


def resize_frame(rgb, size_hw):
    """uint8 (H, W, 3) RGB → float32 (h, w, 3) in [0, 1]: antialiased bilinear resize of rgb/255."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"resize_frame expects an (H, W, 3) RGB frame, got shape {rgb.shape}")
    h, w = int(size_hw[0]), int(size_hw[1])
    x = rgb.astype(np.float32) / np.float32(255.0)
    if rgb.shape[:2] == (h, w):
        return x
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c]), mode="F")
                                .resize((w, h), Image.BILINEAR)) for c in range(3)], axis=-1)


def resize_map(m, size_hw):
    """float (H, W) map → float32 (h, w), ``cv2.resize`` INTER_LINEAR (the released GT resize)."""
    m = np.asarray(m, np.float32)
    h, w = int(size_hw[0]), int(size_hw[1])
    if m.shape[:2] == (h, w):
        return m
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)


def normalize(x01, mean, std):
    """float (..., h, w, 3) in [0, 1] → float32 (..., 3, h, w): (x − mean) / std per channel."""
    x = (np.asarray(x01, np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def to_model_input(frames, input_cfg):
    """uint8 frames (T, H, W, 3) or a list of (H_i, W_i, 3) → float32 (T, 3, h, w), using
    ``size``, ``mean`` and ``std`` of the model config's ``input`` section."""
    size = input_cfg["size"]
    x = np.stack([resize_frame(f, size) for f in frames])
    return normalize(x, input_cfg["mean"], input_cfg["std"])
