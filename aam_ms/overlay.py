"""Saliency heat-map overlays: a JET-coloured map alpha-blended on its frame (OpenCV only).

overlay = (1 − a·m̂)·frame + a·m̂·JET(m̂), with m̂ = min-max normalised map and a = ``alpha``:
non-salient pixels keep the frame, salient ones turn to the heat colour.
"""
import cv2
import numpy as np


def normalise_map(sal):
    """Min-max scale a 2-D map to [0, 1] (a constant map gives zeros)."""
    s = np.asarray(sal, np.float32)
    if s.ndim != 2:
        raise ValueError(f"saliency map must be 2-D, got shape {s.shape}")
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)


def to_uint8(sal):
    """Min-max normalised map as an 8-bit grey image (0 = least, 255 = most salient)."""
    return np.round(normalise_map(sal) * 255.0).astype(np.uint8)


def heatmap(sal):
    """JET colour map of the normalised map, uint8 (H, W, 3) RGB."""
    bgr = cv2.applyColorMap(to_uint8(sal), cv2.COLORMAP_JET)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay(frame_rgb, sal, alpha=0.6):
    """Heat map blended on ``frame_rgb`` (uint8 (H, W, 3)); ``sal`` is resized to the frame."""
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    h, w = frame.shape[:2]
    s = np.asarray(sal, np.float32)
    if s.shape != (h, w):
        s = cv2.resize(s, (w, h), interpolation=cv2.INTER_LINEAR)
    m = normalise_map(s)[..., None] * alpha
    out = (1.0 - m) * frame.astype(np.float32) + m * heatmap(s).astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
