"""Build a manifest for one dataset folder and print counts.

    python -m aam_ms.data.index <dataset> <root> [--out manifest.jsonl] [--split S] [--validate]

Prints one line per (dataset, modality, split) with its record count, then the entries
skipped while indexing (structural problems) and, with ``--validate``, the records whose
files fail to decode. Exit status 1 when no record was found.
"""
import argparse
import sys

from .manifest import counts, write_manifest
from .readers import canonical, index, validate


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.data.index", description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("root")
    ap.add_argument("--out", default=None, help="manifest path (.jsonl); omitted = counts only")
    ap.add_argument("--split", default=None)
    ap.add_argument("--validate", action="store_true", help="decode every record and list failures")
    a = ap.parse_args(argv)
    try:
        name = canonical(a.dataset)
    except KeyError as e:
        ap.error(str(e.args[0]))
    skipped = []
    records = index(name, a.root, a.split, skipped)
    for (ds, mod, split), n in sorted(counts(records).items()):
        print(f"{ds}\t{mod}\t{split}\t{n}")
    print(f"total\t{len(records)}")
    if skipped:
        print(f"skipped {len(skipped)}:")
        for path, reason in skipped:
            print(f"  {path}: {reason}")
    if a.validate:
        bad = validate(records, a.root)
        print(f"unreadable {len(bad)}:")
        for path, reason in bad:
            print(f"  {path}: {reason}")
    if a.out and records:
        write_manifest(a.out, records, a.root, dataset=name, split=a.split)
        print(f"wrote {a.out}")
    return 0 if records else 1


if __name__ == "__main__":
    sys.exit(main())
