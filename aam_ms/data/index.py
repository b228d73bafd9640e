"""Build a manifest for one dataset folder and print counts.

    python -m aam_ms.data.index <dataset> <root> [--out manifest.jsonl] [--split S] [--validate]

Prints one line per (dataset, modality, split) with its record count, then the entries
skipped while indexing (structural problems: a frame without its map, a listed video that is
missing) and, with ``--validate``, the records whose files fail to decode. Unreadable records
are left out of the manifest; every left-out entry goes to ``<out stem>.rejects.jsonl``
(``path``, ``reason``, ``stage`` = index | validate, and the ``record`` when there is one).
A missing root, or one where nothing of the dataset's layout is found, is an error that prints
the layout the reader expects.

Exit status: 0 every entry indexed (and readable with ``--validate``); 1 the manifest was
written (or counted) but some entries were left out; 2 bad input.
"""
import argparse
import json
import os
import sys
from dataclasses import asdict

from .. import cli
from ..fileio import write_text
from .manifest import counts, write_manifest
from .readers import canonical, index, layout, validate


def rejects_path(out):
    """``m.jsonl`` → ``m.rejects.jsonl`` (beside the manifest)."""
    stem = out[:-len(".jsonl")] if out.endswith(".jsonl") else out
    return stem + ".rejects.jsonl"


def _nothing_found(name, root, split):
    entries = sorted(os.listdir(root))
    shown = ", ".join(entries[:12]) + (", ..." if len(entries) > 12 else "")
    where = f"{root} is empty" if not entries else f"{root} holds: {shown}"
    sel = f" of split {split!r}" if split else ""
    hint = "\n".join("    " + line for line in layout(name).splitlines())
    return cli.UserError(f"no {name} records{sel} found under {root} ({where}); "
                         f"the {name} reader expects:\n{hint}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.data.index", description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("root")
    ap.add_argument("--out", default=None, help="manifest path (.jsonl); omitted = counts only")
    ap.add_argument("--split", default=None)
    ap.add_argument("--validate", action="store_true",
                    help="decode every record; leave unreadable ones out of the manifest")
    a = ap.parse_args(argv)
    try:
        name = canonical(a.dataset)
    except KeyError as e:
        raise cli.UserError(str(e.args[0])) from None
    if not os.path.isdir(a.root):
        raise cli.UserError(f"{a.root}: no such folder (the {name} dataset root)")
    skipped = []
    records = index(name, a.root, a.split, skipped)
    if not records:
        raise _nothing_found(name, a.root, a.split)
    for (ds, mod, split), n in sorted(counts(records).items()):
        print(f"{ds}\t{mod}\t{split}\t{n}")
    print(f"total\t{len(records)}")
    rejects = [{"stage": "index", "path": p, "reason": r, "record": None} for p, r in skipped]
    if skipped:
        print(f"skipped {len(skipped)} while indexing:")
        for path, reason in skipped:
            print(f"  {path}: {reason}")
    if a.validate:
        bad = validate(records, a.root)
        print(f"unreadable {len(bad)}:")
        for _, path, reason in bad:
            print(f"  {path}: {reason}")
        rejects += [{"stage": "validate", "path": p, "reason": r, "record": asdict(records[i])}
                    for i, p, r in bad]
        drop = {i for i, _, _ in bad}
        records = [r for i, r in enumerate(records) if i not in drop]
    if a.out:
        if not records:
            raise cli.UserError(f"every {name} record under {a.root} is unreadable; "
                                f"no manifest written")
        write_manifest(a.out, records, a.root, dataset=name, split=a.split)
        print(f"wrote {a.out} ({len(records)} records)")
        if rejects:
            write_text(rejects_path(a.out), "".join(json.dumps(x) + "\n" for x in rejects))
            print(f"left out {len(rejects)}: {rejects_path(a.out)}")
    elif rejects:
        print(f"left out {len(rejects)} (give --out to write the manifest and its rejects file)")
    return 1 if rejects else 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
