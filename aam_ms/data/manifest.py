"""The manifest: one JSON line per instance of a saliency dataset.

A manifest file starts with a header line ``{"format": "aam-manifest/1", "root": ...}`` and
then holds one :class:`Record` per line. Paths inside records are relative to ``root`` (so a
dataset folder can move: pass ``root=`` when reading to re-anchor it).
"""
import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import List, Optional

FORMAT = "aam-manifest/1"
MODALITIES = ("image", "video", "audio_visual")


@dataclass
class Record:
    """One instance: an image, or one frame of a video (with its clip context)."""
    dataset: str                          # dataset key, e.g. "SALICON", "DHF1K", "DIEM"
    modality: str                         # image | video | audio_visual
    split: str                            # train | val | test | a fold name (STAViS)
    prompt_key: str                       # key into the prompt table (aam_ms.data.prompts)
    stimulus: str                         # image / frame path (relative to root)
    density: Optional[str] = None         # continuous saliency map path
    fixation: Optional[str] = None        # binary fixation map path (.png/.mat)
    fixation_var: Optional[str] = None    # variable / field inside a .mat fixation file
    fixation_points: Optional[List[List[float]]] = None   # [[row, col], ...] (0-based pixels)
    video: Optional[str] = None           # video id (records of one video share it)
    frame_index: Optional[int] = None     # 0-based index of this frame in its video
    num_frames: Optional[int] = None      # frames in the video
    fps: Optional[float] = None
    audio: Optional[str] = None           # .wav path (audio-visual data)
    audio_window: Optional[List[float]] = None  # [start_s, end_s] centred on the frame
    size: Optional[List[int]] = None      # [height, width] of the stimulus if known
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")

    def resolve(self, root, name):
        """Absolute path of the record's field ``name`` (None stays None)."""
        p = getattr(self, name)
        return None if p is None else os.path.join(root, p)


_FIELDS = {f.name for f in fields(Record)}


def write_manifest(path, records, root, **header):
    """Write atomically: header line, then one record per line."""
    from ..fileio import atomic_write
    with atomic_write(path, "w") as f:
        f.write(json.dumps({"format": FORMAT, "root": os.path.abspath(root), **header}) + "\n")
        for r in records:
            f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")


def read_manifest(path, root=None):
    """Return ``(header, records)``; ``root`` overrides the header's dataset root."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        try:
            header = json.loads(first)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line 1 is not JSON ({e})") from None
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: not an aam manifest (line 1 must have format={FORMAT!r})")
        if root is not None:
            header["root"] = os.path.abspath(root)
        records = []
        for n, line in enumerate(f, start=2):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                unknown = set(d) - _FIELDS
                if unknown:
                    raise ValueError(f"unknown fields {sorted(unknown)}")
                records.append(Record(**d))
            except (ValueError, TypeError) as e:
                raise ValueError(f"{path}: line {n}: bad record ({e})") from None
    return header, records


def counts(records):
    """{(dataset, modality, split): n} for a summary print."""
    out = {}
    for r in records:
        k = (r.dataset, r.modality, r.split)
        out[k] = out.get(k, 0) + 1
    return out
