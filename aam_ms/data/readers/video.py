"""Frame-folder video datasets: DHF1K, Hollywood-2 and UCF Sports.

DHF1K (Wang et al. 2018), three accepted layouts:

1. official release: ``root/video/<NNN>.AVI`` and ``root/annotation/<NNNN>/maps/<NNNN>.png``,
   ``.../fixation/<NNNN>.png`` (or ``.mat`` with variable ``I``, also under ``fixation/maps/``);
   videos 1–600 train, 601–700 val, 701–1000 test (no annotation); records point at the
   video file with ``frame_index``; fps from the container (30 if unknown);
2. the AAM release re-layout: ``root/{DHF1K_train,DHF1K_val}/video/<v>/images/<NNNN>.png``
   with ``.../annotation/<v>/{maps,fixation}/``;
3. the common frame re-layout: ``root/{train,val,test}/<v>/{images,maps,fixation}/``.

Hollywood-2 / UCF Sports (Mathe & Sminchisescu 2015, ACLNet release naming)::

    root/{training,testing}/<video>/images/<video>_<NNN>.png
    root/{training,testing}/<video>/maps/<video>_<NNN>.png
    root/{training,testing}/<video>/fixation/<video>_<NNN>.png   (or fixation/maps/*.mat, ``I``)

splits ``train`` / ``test``. Frames are matched to maps by stem, or by order when the two
folders have the same count but different names. A frame without a map is skipped.
"""
import os

from ..manifest import Record
from ..prompts import prompt_key
from ._common import IMAGE_EXTS, MAP_EXTS, by_stem, find_dir, list_dirs, list_files, rel, skip, want

DHF1K_FPS = 30.0
_SPLIT_DIRS = {"train": ("train", "training", "DHF1K_train"), "val": ("val", "validation", "DHF1K_val"),
               "test": ("test", "testing", "DHF1K_test")}


def _frame_records(dataset, split, root, video, frame_dir, map_dir, fix_dir, skipped, fps=None):
    frames = list_files(frame_dir, IMAGE_EXTS)
    maps = by_stem(map_dir)
    fixs = by_stem(fix_dir, MAP_EXTS) if fix_dir else {}
    if map_dir and frames and not set(maps) & {os.path.splitext(f)[0] for f in frames}:
        if len(maps) == len(frames):            # same count, different naming: pair by order
            ordered = sorted(maps.values())
            maps = {os.path.splitext(f)[0]: m for f, m in zip(frames, ordered)}
            fl = sorted(fixs.values())
            fixs = {os.path.splitext(f)[0]: x for f, x in zip(frames, fl)} if len(fl) == len(frames) else {}
    kept = []
    for f in frames:
        stem = os.path.splitext(f)[0]
        if map_dir is not None and stem not in maps:
            skip(skipped, os.path.join(frame_dir, f), f"frame without a map in {map_dir}")
            continue
        kept.append((f, maps.get(stem), fixs.get(stem)))
    out = []
    for i, (f, m, x) in enumerate(kept):
        out.append(Record(
            dataset=dataset, modality="video", split=split, prompt_key=prompt_key(dataset),
            stimulus=rel(root, os.path.join(frame_dir, f)),
            density=rel(root, os.path.join(map_dir, m)) if m else None,
            fixation=rel(root, os.path.join(fix_dir, x)) if x else None,
            fixation_var="I" if x and x.lower().endswith(".mat") else None,
            video=video, frame_index=i, num_frames=len(kept), fps=fps))
    return out


def _fix_dir(base):
    d = find_dir(base, "fixation/maps", "fixation", "fixations")
    return d if list_files(d, MAP_EXTS) else find_dir(base, "fixation", "fixations")


def _video_folders(dataset, split, root, base, skipped, fps=None):
    out = []
    for v in list_dirs(base):
        vd = os.path.join(base, v)
        frame_dir = find_dir(vd, "images", "frames")
        if frame_dir is None:
            skip(skipped, vd, "no images/ folder")
            continue
        out += _frame_records(dataset, split, root, v, frame_dir,
                              find_dir(vd, "maps"), _fix_dir(vd), skipped, fps)
    return out


def _dhf1k_official(root, split, skipped):
    import cv2
    vids = find_dir(root, "video")
    ann = find_dir(root, "annotation")
    ann_dirs = {int(d): d for d in list_dirs(ann) if d.isdigit()}
    out = []
    for n in list_files(vids, (".avi", ".mp4")):
        stem = os.path.splitext(n)[0]
        if not stem.isdigit():
            continue
        num = int(stem)
        s = "train" if num <= 600 else "val" if num <= 700 else "test"
        if not want(split, s):
            continue
        path = os.path.join(vids, n)
        cap = cv2.VideoCapture(path)
        fps = cap.get(cv2.CAP_PROP_FPS) or DHF1K_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        a = os.path.join(ann, ann_dirs[num]) if num in ann_dirs else None
        mdir = find_dir(a, "maps") if a else None
        maps = list_files(mdir, IMAGE_EXTS)
        fdir = _fix_dir(a) if a else None
        fixs = by_stem(fdir)
        if a is None and s != "test":
            skip(skipped, path, "no annotation folder")
            continue
        frames = [(i, m) for i, m in enumerate(maps)] if maps else [(i, None) for i in range(count)]
        if count > 0 and len(maps) > count:
            skip(skipped, path, f"{len(maps)} maps but the video has {count} frames")
            continue
        for i, m in frames:
            stem_m = os.path.splitext(m)[0] if m else None
            x = fixs.get(stem_m) if m else None
            out.append(Record(
                dataset="DHF1K", modality="video", split=s, prompt_key=prompt_key("DHF1K"),
                stimulus=rel(root, path),
                density=rel(root, os.path.join(mdir, m)) if m else None,
                fixation=rel(root, os.path.join(fdir, x)) if x else None,
                fixation_var="I" if x and x.lower().endswith(".mat") else None,
                video=stem, frame_index=i, num_frames=len(frames), fps=float(fps)))
    return out


def index_dhf1k(root, split=None, skipped=None):
    if find_dir(root, "video") and find_dir(root, "annotation") and \
            list_files(find_dir(root, "video"), (".avi", ".mp4")):
        return _dhf1k_official(root, split, skipped)
    out = []
    for s, names in _SPLIT_DIRS.items():
        base = find_dir(root, *names)
        if base is None or not want(split, s):
            continue
        vids, ann = find_dir(base, "video"), find_dir(base, "annotation")
        if vids and ann:                                    # AAM release re-layout
            for v in list_dirs(vids):
                a = os.path.join(ann, v)
                out += _frame_records("DHF1K", s, root, v, find_dir(vids, f"{v}/images") or
                                      os.path.join(vids, v), find_dir(a, "maps"),
                                      _fix_dir(a) if os.path.isdir(a) else None, skipped, DHF1K_FPS)
        else:
            out += _video_folders("DHF1K", s, root, base, skipped, DHF1K_FPS)
    return out


def _actions(dataset, root, split, skipped):
    out = []
    for s, names in (("train", ("training", "train")), ("test", ("testing", "test"))):
        base = find_dir(root, *names)
        if base is not None and want(split, s):
            out += _video_folders(dataset, s, root, base, skipped)
    return out


def index_hollywood(root, split=None, skipped=None):
    return _actions("Hollywood-2", root, split, skipped)


def index_ucf(root, split=None, skipped=None):
    return _actions("UCF-Sports", root, split, skipped)

