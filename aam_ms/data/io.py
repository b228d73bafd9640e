"""Decoding of one saliency sample from disk (numpy / OpenCV / SciPy / soundfile only).

Every failure to read a file raises :class:`SampleError` naming the file and what is wrong,
so a data pipeline can skip and list the bad sample instead of dying mid-epoch.

Conventions
- images: ``uint8`` (H, W, 3) RGB, upright: an EXIF orientation tag is applied (as a viewer
  shows the photo);
- density maps: ``float32`` (H, W) with the values as stored (0..255 for 8-bit images);
- fixation maps: ``uint8`` (H, W) in {0, 1};
- fixation points (``Record.fixation_points``): ``[[row, col], ...]`` 0-based pixels of the
  stimulus at ``Record.size``;
- points read from a MATLAB struct field (``fixation_var="gaze.fixations"``, the SALICON layout)
  are ``[x, y]`` = ``[col, row]`` 1-based unless ``Record.extra["fixation_order"] == "rc"``;
- audio: ``float32`` mono at the requested rate.
"""
import os

import cv2
import numpy as np

VIDEO_EXTS = (".avi", ".mp4", ".mov", ".mkv", ".mpg", ".mpeg", ".webm")
_MAT_V73_HINT = "MATLAB v7.3 (HDF5) file"


class SampleError(Exception):
    """A sample file that cannot be used: ``path`` and a human ``reason``."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _read_bytes(path):
    if path is None:
        raise SampleError("<none>", "no file given")
    if not os.path.isfile(path):
        raise SampleError(path, "file does not exist")
    size = os.path.getsize(path)
    if size == 0:
        raise SampleError(path, "file is empty (0 bytes)")
    with open(path, "rb") as f:
        return f.read()


def _check_complete(path, data):
    """Reject truncated JPEG (no EOI marker near the end) and PNG (no IEND chunk) files.

    OpenCV decodes such files partially with only a warning, which would silently feed grey
    half-images into training.
    """
    if data[:3] == b"\xff\xd8\xff":
        if b"\xff\xd9" not in data[-4096:]:
            raise SampleError(path, "truncated JPEG (no end-of-image marker)")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-64:]:
            raise SampleError(path, "truncated PNG (no IEND chunk)")


def _decode(path, flags):
    data = _read_bytes(path)
    _check_complete(path, data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None or img.size == 0:
        raise SampleError(path, "not a decodable image (corrupt or unsupported format)")
    return _exif_upright(img, data) if flags == cv2.IMREAD_UNCHANGED else img


def _exif_upright(img, data):
    """Apply the EXIF orientation tag (1-8) of the encoded ``data`` to the decoded pixels
    (``IMREAD_UNCHANGED`` keeps them as stored; ``IMREAD_COLOR`` would rotate but drop alpha
    and bit depth). Same transforms as ``PIL.ImageOps.exif_transpose``."""
    import io as _io

    from PIL import Image
    try:
        with Image.open(_io.BytesIO(data)) as im:
            o = im.getexif().get(0x0112, 1)
    except Exception:  # no EXIF block or one PIL cannot parse: the pixels as stored
        return img
    swap = np.swapaxes(img, 0, 1)
    out = {2: img[:, ::-1], 3: img[::-1, ::-1], 4: img[::-1], 5: swap, 6: swap[:, ::-1],
           7: swap[::-1, ::-1], 8: swap[::-1]}.get(o, img)
    return np.ascontiguousarray(out)


def _to_uint8(a):
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    a = a.astype(np.float32)
    hi = float(a.max()) if a.size else 0.0
    return np.clip(a * (255.0 / hi if hi > 1.0 else 255.0), 0, 255).astype(np.uint8)


def _to_rgb(img, path):
    if img.ndim == 2:
        img = cv2.cvtColor(_to_uint8(img), cv2.COLOR_GRAY2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(_to_uint8(img), cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(_to_uint8(img), cv2.COLOR_BGR2RGB)
    else:
        raise SampleError(path, f"unsupported image shape {img.shape}")
    return np.ascontiguousarray(img)


def load_image(path):
    """Image file → ``uint8`` (H, W, 3) RGB (grey is replicated, alpha dropped)."""
    return _to_rgb(_decode(path, cv2.IMREAD_UNCHANGED), path)


def load_frame(path, index):
    """Frame ``index`` (0-based) of a video file → ``uint8`` (H, W, 3) RGB."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        _read_bytes(path)                       # raises the precise error
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise SampleError(path, "video cannot be opened (corrupt or unsupported codec)")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n > 0 and not 0 <= index < n:
            raise SampleError(path, f"frame {index} out of range (video has {n} frames)")
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, img = cap.read()
    finally:
        cap.release()
    if not ok or img is None:
        raise SampleError(path, f"frame {index} cannot be decoded")
    return _to_rgb(img, path)


def _loadmat(path):
    """``scipy.io.loadmat`` (v4–v7.2), or h5py for v7.3 files when h5py is installed."""
    import scipy.io
    _read_bytes(path)
    try:
        return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError:
        try:
            import h5py
        except ImportError:
            raise SampleError(path, f"{_MAT_V73_HINT}: install h5py or re-save with -v7") from None
        out = {}
        with h5py.File(path, "r") as f:
            for k, v in f.items():
                if isinstance(v, h5py.Dataset):
                    out[k] = np.asarray(v).T      # MATLAB stores column-major
        return out
    except Exception as e:  # scipy raises ValueError/TypeError/OSError on corrupt files
        raise SampleError(path, f"not a readable .mat file ({type(e).__name__}: {e})") from None


def _mat_variable(path, var):
    m = _loadmat(path)
    names = [k for k in m if not k.startswith("__")]
    if var is None:
        arrays = [k for k in names if isinstance(m[k], np.ndarray) and m[k].ndim == 2]
        if len(arrays) != 1:
            raise SampleError(path, f"give the variable name: 2-D variables are {arrays}, all {names}")
        var = arrays[0]
    head, _, field = var.partition(".")
    if head not in m:
        raise SampleError(path, f"variable {head!r} not found (has {names})")
    if not field:
        return m[head]
    items = np.atleast_1d(m[head])
    try:
        parts = [np.asarray(getattr(s, field), dtype=np.float64).reshape(-1, 2)
                 for s in items if np.size(getattr(s, field))]
    except (AttributeError, ValueError) as e:
        raise SampleError(path, f"struct {head!r}: field {field!r} unusable ({e})") from None
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def _mat_resolution(path):
    """``resolution`` = [height, width] stored next to SALICON gaze structs."""
    res = _loadmat(path).get("resolution")
    if res is None or np.size(res) != 2:
        raise SampleError(path, "point fixations need record.size or a 'resolution' variable")
    return [int(v) for v in np.ravel(res)]


def load_map(path, var=None):
    """Density map (PNG/JPG grey, ``.mat`` variable ``var``, ``.npy``) → ``float32`` (H, W)."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".npy":
        _read_bytes(path)
        try:
            a = np.load(path, allow_pickle=False)
        except Exception as e:
            raise SampleError(path, f"not a readable .npy array ({e})") from None
    elif ext == ".mat":
        a = np.asarray(_mat_variable(path, var))
    else:
        a = _decode(path, cv2.IMREAD_UNCHANGED)
        if a.ndim == 3:
            a = cv2.cvtColor(_to_uint8(a[..., :3]), cv2.COLOR_BGR2GRAY)
    a = np.squeeze(a)
    if a.ndim != 2 or a.size == 0:
        raise SampleError(path, f"map must be 2-D, got shape {a.shape}")
    if not np.all(np.isfinite(a.astype(np.float32))):
        raise SampleError(path, "map holds NaN or Inf values")
    return a.astype(np.float32)


def points_to_map(points, src_size, size):
    """0-based ``[[row, col], ...]`` at ``src_size`` → binary ``uint8`` map of ``size``.

    A point maps to ``floor(p * size / src_size)``; points outside the image are dropped.
    """
    out = np.zeros(tuple(size), np.uint8)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return out
    r = np.floor(p[:, 0] * size[0] / src_size[0]).astype(np.int64)
    c = np.floor(p[:, 1] * size[1] / src_size[1]).astype(np.int64)
    keep = (r >= 0) & (r < size[0]) & (c >= 0) & (c < size[1])
    out[r[keep], c[keep]] = 1
    return out


def _binary_to_size(m, size):
    m = (np.asarray(m) > 0)
    if size is None or tuple(m.shape) == tuple(size):
        return m.astype(np.uint8)
    return points_to_map(np.argwhere(m), m.shape, size)


def load_fixations(record, root, size=None):
    """Binary fixation map ``uint8`` (H, W) of ``size`` (default: the source's own size).

    Sources, in order: ``record.fixation`` (image file → ``> 0``; ``.mat`` → variable
    ``record.fixation_var``, a 2-D map or a ``struct.field`` of point lists), then
    ``record.fixation_points``. Maps of another size are resampled point-wise (no blur).
    """
    if record.fixation is not None:
        path = record.resolve(root, "fixation")
        ext = os.path.splitext(path)[1].lower()
        if ext == ".mat":
            a = _mat_variable(path, record.fixation_var)
            if record.fixation_var and "." in record.fixation_var:
                pts = np.asarray(a, dtype=np.float64).reshape(-1, 2)
                if record.extra.get("fixation_order", "xy") == "xy":
                    pts = pts[:, ::-1]
                pts = pts - 1.0                   # MATLAB 1-based → 0-based
                src = record.size or _mat_resolution(path)
                return points_to_map(pts, src, size or src)
            a = np.squeeze(np.asarray(a))
            if a.ndim != 2:
                raise SampleError(path, f"fixation variable must be a 2-D map, got shape {a.shape}")
            return _binary_to_size(a, size)
        if ext == ".npy":
            return _binary_to_size(load_map(path), size)
        return _binary_to_size(_decode(path, cv2.IMREAD_GRAYSCALE), size)
    if record.fixation_points is not None:
        if record.size is None and size is None:
            raise SampleError(record.stimulus, "fixation_points need record.size or size")
        src = record.size or size
        return points_to_map(record.fixation_points, src, size or src)
    raise SampleError(record.stimulus, "record has no fixation file and no fixation points")


def load_audio(path, start_s, end_s, sr=16000):
    """Mono ``float32`` audio of ``[start_s, end_s)`` resampled to ``sr``.

    Channels are averaged; the part of the window outside the file is zero (so a window
    centred on the first frame is half silence). Length is ``round((end_s - start_s) * sr)``.
    """
    import soundfile as sf
    from aam_ms.audio.features import resample
    if not end_s > start_s:
        raise SampleError(path, f"empty audio window [{start_s}, {end_s}]")
    _read_bytes(path)
    try:
        with sf.SoundFile(path) as f:
            fsr, total = f.samplerate, f.frames
            a = int(round(start_s * fsr))
            b = int(round(end_s * fsr))
            lo, hi = max(a, 0), min(b, total)
            seg = np.zeros((0, f.channels), np.float32)
            if hi > lo:
                f.seek(lo)
                seg = f.read(hi - lo, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, TypeError) as e:     # soundfile's errors derive from these
        raise SampleError(path, f"not a readable audio file ({e})") from None
    mono = seg.mean(axis=1) if seg.size else np.zeros(0, np.float32)
    wav = np.zeros(b - a, np.float32)
    wav[lo - a: lo - a + len(mono)] = mono
    if fsr != sr and len(wav):
        wav = resample(wav, fsr, sr)
    n = int(round((end_s - start_s) * sr))
    out = np.zeros(n, np.float32)
    out[:min(n, len(wav))] = wav[:n]
    return out


def audio_info(path):
    """(sample rate, frames, channels) of an audio file that is complete: a WAV whose ``data``
    chunk promises more bytes than the file holds, or a file whose last block does not decode,
    is refused (a truncated file would be read as silence)."""
    import soundfile as sf
    data_size = os.path.getsize(path) if os.path.isfile(path) else 0
    _read_bytes_head(path)
    try:
        with sf.SoundFile(path) as f:
            sr, frames, channels = f.samplerate, f.frames, f.channels
            if frames > 0:
                f.seek(max(0, frames - 1024))
                tail = f.read(dtype="float32", always_2d=True)
                if len(tail) != min(1024, frames):
                    raise SampleError(path, f"truncated audio: its last samples cannot be read "
                                            f"({len(tail)} of {min(1024, frames)})")
    except (RuntimeError, OSError, TypeError) as e:
        raise SampleError(path, f"not a readable audio file ({e})") from None
    if frames == 0:
        raise SampleError(path, "audio file holds no samples")
    promised = _wav_promised_bytes(path)
    if promised is not None and promised[0] > data_size - promised[1]:
        raise SampleError(path, f"truncated WAV: its header promises {promised[0]} bytes of "
                                f"samples, the file holds {max(0, data_size - promised[1])}")
    return sr, frames, channels


def _read_bytes_head(path):
    """The existence / emptiness checks of :func:`_read_bytes` without reading the file."""
    if not os.path.isfile(path):
        raise SampleError(path, "file does not exist")
    if os.path.getsize(path) == 0:
        raise SampleError(path, "file is empty (0 bytes)")


def _wav_promised_bytes(path):
    """(data chunk size, offset of its first byte) of a RIFF/WAVE file, else None."""
    import struct
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                return None
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            pos += 8
            if cid == b"data":
                return (size, pos) if size not in (0, 0xFFFFFFFF) else None   # streamed WAV
            f.seek(size + (size & 1), 1)
            pos += size + (size & 1)


def container_tracks(path):
    """Kinds of track a video container declares, from its headers without decoding:
    {"video", "audio"} ⊆ result, or None when the format is not recognised. MP4 / MOV
    (``hdlr`` boxes ``vide`` / ``soun``) and AVI (``strh`` types ``vids`` / ``auds``);
    ``ffprobe`` when installed covers every other format."""
    import mmap
    import shutil
    import subprocess
    exe = shutil.which("ffprobe")
    if exe:
        r = subprocess.run([exe, "-v", "error", "-show_entries", "stream=codec_type", "-of",
                            "csv=p=0", path], capture_output=True, text=True)
        if r.returncode == 0:
            kinds = {k.strip() for k in r.stdout.split()}
            return {k for k in ("video", "audio") if k in kinds}
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            head = m[:12]
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
                marks, names = b"hdlr", {b"vide": "video", b"soun": "audio"}
                skip = 8
            elif head[:4] == b"RIFF" and head[8:12] == b"AVI ":
                marks, names = b"strh", {b"vids": "video", b"auds": "audio"}
                skip = 4
            else:
                return None
            out, i = set(), m.find(marks)
            while i >= 0:
                kind = names.get(m[i + 4 + skip:i + 8 + skip])
                if kind:
                    out.add(kind)
                i = m.find(marks, i + 4)
            return out
    except (OSError, ValueError):
        return None


def load_stimulus(record, root):
    """The record's image, or its frame ``frame_index`` when the stimulus is a video file."""
    path = record.resolve(root, "stimulus")
    if os.path.splitext(path)[1].lower() in VIDEO_EXTS:
        if record.frame_index is None:
            raise SampleError(path, "video stimulus needs record.frame_index")
        return load_frame(path, record.frame_index)
    return load_image(path)


def load_sample(record, root, sr=16000):
    """Decode one record: ``{"image", "density", "fixation"[, "audio"]}``.

    ``density`` / ``fixation`` are None when the record has none (e.g. test splits);
    the fixation map is produced at the density map's size (else the image's).
    """
    image = load_stimulus(record, root)
    density = None
    if record.density is not None:
        density = load_map(record.resolve(root, "density"), record.extra.get("density_var"))
    fixation = None
    if record.fixation is not None or record.fixation_points is not None:
        size = density.shape if density is not None else image.shape[:2]
        fixation = load_fixations(record, root, size)
    out = {"image": image, "density": density, "fixation": fixation}
    if record.audio is not None:
        if not record.audio_window:
            raise SampleError(record.resolve(root, "audio"), "audio record without audio_window")
        start, end = record.audio_window
        out["audio"] = load_audio(record.resolve(root, "audio"), start, end, sr)
    return out
