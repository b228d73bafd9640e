"""Readers of the 16 Attention-1.75M datasets: ``index(name, root, split=None, skipped=None)``.

Each reader turns a dataset folder in its published layout into :class:`Record` s; image
datasets also accept the SUM/TranSalNet CSV layout (:mod:`.csv256`) when ``*_id(s).csv`` files
sit in the root. Structural problems found while indexing are appended to ``skipped`` as
``(path, reason)``; :func:`validate` decodes records and lists the unreadable ones.
"""
from functools import partial

from . import category, csv256, ledov, mit1003, osie, salicon, stavis, video, web
from ._common import validate

IMAGE = {"SALICON": salicon.index, "MIT1003": mit1003.index, "CAT2000": category.index_cat2000,
         "OSIE": osie.index, "FIGRIM": category.index_figrim, "U-EYE": web.index_ueye,
         "FiWI": web.index_fiwi, "SalECI": web.index_saleci}
VIDEO = {"DHF1K": video.index_dhf1k, "Hollywood-2": video.index_hollywood,
         "UCF-Sports": video.index_ucf, "LEDOV": ledov.index}
AUDIO_VISUAL = {name: partial(stavis.index, name) for name in stavis.FOLDERS}
READERS = {**IMAGE, **VIDEO, **AUDIO_VISUAL}
_ALIASES = {k.lower().replace("-", "").replace("_", ""): k for k in READERS}
_ALIASES.update({"salicon2015": "SALICON", "salicon2017": "SALICON", "ui": "U-EYE", "ueyes": "U-EYE",
                 "salec": "SalECI", "hollywood": "Hollywood-2", "hollywood2": "Hollywood-2",
                 "ucf": "UCF-Sports", "coutrotdb1": "Coutrot-1", "coutrotdb2": "Coutrot-2",
                 "etmdav": "ETMD"})


def canonical(name):
    """Dataset key for a name or alias (case, '-' and '_' ignored)."""
    key = _ALIASES.get(name.lower().replace("-", "").replace("_", ""))
    if key is None:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(READERS)}")
    return key


_MODULES = {**{k: m for m, keys in ((salicon, ["SALICON"]), (mit1003, ["MIT1003"]),
                                      (category, ["CAT2000", "FIGRIM"]), (osie, ["OSIE"]),
                                      (web, ["U-EYE", "FiWI", "SalECI"]),
                                      (video, ["DHF1K", "Hollywood-2", "UCF-Sports"]),
                                      (ledov, ["LEDOV"])) for k in keys},
            **{k: stavis for k in AUDIO_VISUAL}}


def layout(name):
    """The folder layout(s) the reader of ``name`` accepts: its module's documentation, plus
    the CSV layout for image datasets."""
    key = canonical(name)
    text = (_MODULES[key].__doc__ or "").strip()
    if key in IMAGE:
        text += "\n\nor the CSV layout:\n" + (csv256.__doc__ or "").strip()
    return text


def index(name, root, split=None, skipped=None):
    """Records of dataset ``name`` under ``root`` (``split`` None = all splits)."""
    key = canonical(name)
    if key in IMAGE and csv256.has_layout(root):
        return csv256.index(key, root, split, skipped)
    return READERS[key](root, split, skipped)


__all__ = ["READERS", "canonical", "index", "layout", "validate"]
