"""The STAViS audio-visual package: DIEM, Coutrot-1/2, AVAD, ETMD, SumMe.

    root/video_frames/<ds>/<video>/img_<NNNNN>.jpg             frames, 1-based numbers
    root/video_audio/<ds>/<video>/<video>.wav
    root/annotations/<ds>/<video>/maps/eyeMap_<NNNNN>.jpg      density maps
    root/annotations/<ds>/<video>/fixMap_<NNNNN>.mat           ``eyeMap``: binary map
    root/fold_lists/<ds>_list_{train,test}_{1,2,3}_fps.txt     "<video> <frames> <fps>"
    root/fold_lists/DIEM_list_{train,test}_fps.txt             (DIEM: one fixed split)

``<ds>`` is the package folder name (DIEM, Coutrot_db1, Coutrot_db2, AVAD, ETMD_av, SumMe).
Splits are ``<train|test>_<fold>`` (DIEM: ``train`` / ``test``); a video appears once per
list naming it. Frame ``i`` (0-based, file number i+1) gets the audio window of 2 s centred
on its time ``i / fps``: ``[i/fps - 1, i/fps + 1]`` (zero-padded by the loader outside the
file). Frames are paired to maps by number; a frame without a map is skipped.
"""
import os
import re

from ..manifest import Record
from ..prompts import prompt_key
from ._common import IMAGE_EXTS, MAP_EXTS, find_dir, list_files, rel, skip, want

FOLDERS = {"DIEM": "DIEM", "Coutrot-1": "Coutrot_db1", "Coutrot-2": "Coutrot_db2",
           "AVAD": "AVAD", "ETMD": "ETMD_av", "SumMe": "SumMe"}
AUDIO_WINDOW_S = 2.0
_LIST = re.compile(r"^(?P<ds>.+)_list_(?P<mode>train|test)(?:_(?P<fold>\d+))?_fps\.txt$", re.I)


def _number(name):
    m = re.search(r"(\d+)$", os.path.splitext(name)[0])
    return int(m.group(1)) if m else None


def _lists(root, folder):
    """``{split name: [(video, fps), ...]}`` from the fold lists of ``folder``."""
    out = {}
    for n in list_files(find_dir(root, "fold_lists"), (".txt",)):
        m = _LIST.match(n)
        if not m or m.group("ds").lower() != folder.lower():
            continue
        s = m.group("mode") + (f"_{m.group('fold')}" if m.group("fold") else "")
        rows = []
        with open(os.path.join(find_dir(root, "fold_lists"), n), encoding="utf-8") as f:
            for ln in f:
                parts = ln.split()
                if parts:
                    rows.append((parts[0], float(parts[2]) if len(parts) > 2 else None))
        out[s] = rows
    return out


def index(dataset, root, split=None, skipped=None):
    folder = FOLDERS[dataset]
    out = []
    for s, rows in sorted(_lists(root, folder).items()):
        if not want(split, s):
            continue
        for video, fps in rows:
            fdir = find_dir(root, f"video_frames/{folder}/{video}")
            adir = find_dir(root, f"annotations/{folder}/{video}")
            wav = os.path.join(root, "video_audio", folder, video, video + ".wav")
            if fdir is None or adir is None:
                skip(skipped, os.path.join(root, "video_frames", folder, video),
                     "listed video has no frames or no annotations folder")
                continue
            if fps is None:
                skip(skipped, wav, "fold list gives no fps for this video")
                continue
            maps = {_number(n): n for n in list_files(find_dir(adir, "maps"), IMAGE_EXTS)}
            fixs = {_number(n): n for n in list_files(adir, MAP_EXTS) if n.lower().startswith("fixmap")}
            kept = []
            for n in list_files(fdir, IMAGE_EXTS):
                k = _number(n)
                if k not in maps:
                    skip(skipped, os.path.join(fdir, n), "frame without an eyeMap")
                    continue
                kept.append((k, n))
            has_audio = os.path.isfile(wav)
            if not has_audio:
                skip(skipped, wav, "missing audio: records kept as video without audio")
            for i, (k, n) in enumerate(kept):
                t = (k - 1) / fps
                fx = fixs.get(k)
                out.append(Record(
                    dataset=dataset, modality="audio_visual", split=s,
                    prompt_key=prompt_key(dataset), stimulus=rel(root, os.path.join(fdir, n)),
                    density=rel(root, os.path.join(adir, "maps", maps[k])),
                    fixation=rel(root, os.path.join(adir, fx)) if fx else None,
                    fixation_var="eyeMap" if fx else None, video=video, frame_index=k - 1,
                    num_frames=len(kept), fps=fps,
                    audio=rel(root, wav) if has_audio else None,
                    audio_window=[t - AUDIO_WINDOW_S / 2, t + AUDIO_WINDOW_S / 2] if has_audio else None))
    return out
