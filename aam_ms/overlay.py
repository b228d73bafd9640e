"""Saliency heat-map overlays: a JET-coloured map alpha-blended on its frame, and overlay videos.

overlay = (1 − a·m̂)·frame + a·m̂·JET(m̂), with m̂ = min-max normalised map and a = ``alpha``:
non-salient pixels keep the frame, salient ones turn to the heat colour.

``OverlayVideo`` writes the overlaid frames as a video a browser plays (H.264 + the clip's sound
when ffmpeg is installed).
"""
import os

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


# ----------------------------------------------------------------------------- overlay video

def _ffmpeg_h264():
    """(ffmpeg path, H.264 encoder name or None), or (None, None) without ffmpeg."""
    import shutil
    import subprocess
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None, None
    r = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True)
    names = {line.split()[1] for line in r.stdout.splitlines()
             if len(line.split()) > 1 and line.startswith(" V")}
    return exe, next((e for e in ("libx264", "libopenh264", "h264_v4l2m2m") if e in names), None)


class OverlayVideo:
    """Overlay frames → ``path`` (.mp4), browser-playable where the installed tools allow.

    1. ffmpeg installed: raw RGB frames piped to it, H.264 (libx264 / libopenh264, yuv420p,
       even size, ``+faststart``; MPEG-4 Part 2 if it has no H.264 encoder, noted), with the
       first sound stream of ``audio`` (a WAV or the source video; optional) muxed in as AAC;
    2. else OpenCV: H.264 (``avc1``) when its build can encode it, else ``mp4v`` (MPEG-4
       Part 2, which browsers do not play; noted), else MJPG ``.avi``; sound cannot be muxed
       without ffmpeg (noted).

    ``close()`` → {"path", "codec", "audio_muxed", "notes"}; ``abort()`` stops and removes it.
    """

    def __init__(self, path, fps, size_hw, audio=None):
        import subprocess
        import tempfile
        self.size, self.path, self.fps = tuple(size_hw), path, float(fps)
        self.notes, self.audio = [], audio
        self.proc = self.writer = None
        exe, enc = _ffmpeg_h264()
        if exe:
            h, w = self.size
            self.codec = enc or "mpeg4"
            if enc is None:
                self.notes.append("ffmpeg has no H.264 encoder: overlay video is MPEG-4 Part 2 "
                                  "(browsers may not play it)")
            cmd = [exe, "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{w}x{h}", "-r", f"{self.fps:.6g}", "-i", "-"]
            if audio:
                cmd += ["-i", audio, "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "aac",
                        "-shortest"]
            cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", self.codec,
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", path]
            self.log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self.log)
            return
        if audio:
            self.notes.append("overlay video has no sound: muxing it needs ffmpeg, which is not "
                              "installed")
        h, w = self.size
        for ext, codec in ((".mp4", "avc1"), (".mp4", "mp4v"), (".avi", "MJPG")):
            p = os.path.splitext(path)[0] + ext
            level = cv2.getLogLevel()
            cv2.setLogLevel(0)                    # silent: a missing encoder is not an error
            try:
                wr = cv2.VideoWriter(p, cv2.VideoWriter_fourcc(*codec), self.fps, (w, h))
            finally:
                cv2.setLogLevel(level)
            if wr.isOpened():
                self.writer, self.path, self.codec = wr, p, codec
                if codec != "avc1":
                    self.notes.append(f"no H.264 encoder (install ffmpeg): overlay video is "
                                      f"{'MPEG-4 Part 2 (mp4v)' if codec == 'mp4v' else 'MJPG'}, "
                                      f"which browsers may not play")
                return
            wr.release()
            if os.path.exists(p):
                os.remove(p)
        raise OSError(f"{path}: neither ffmpeg nor OpenCV can write a video here")

    def write(self, rgb):
        if rgb.shape[:2] != self.size:
            raise ValueError(f"frame size {rgb.shape[:2]} differs from the video's {self.size}")
        if self.proc is not None:
            try:
                self.proc.stdin.write(np.ascontiguousarray(rgb, np.uint8).tobytes())
            except BrokenPipeError:
                raise OSError(f"{self.path}: ffmpeg stopped: {self._log()}") from None
        else:
            self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def _log(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace").strip()[-300:]

    def close(self):
        muxed = False
        if self.proc is not None:
            self.proc.stdin.close()
            if self.proc.wait() != 0 or not os.path.isfile(self.path):
                raise OSError(f"{self.path}: ffmpeg failed: {self._log()}")
            self.log.close()
            if self.audio:
                from .data.io import container_tracks
                muxed = "audio" in (container_tracks(self.path) or ())
        else:
            self.writer.release()
        return {"path": self.path, "codec": self.codec, "audio_muxed": muxed,
                "notes": self.notes}

    def abort(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.writer is not None:
            self.writer.release()
        if os.path.exists(self.path):
            os.remove(self.path)
