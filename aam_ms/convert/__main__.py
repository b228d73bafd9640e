"""``python -m aam_ms.convert <kind> SRC DST ...`` — PyTorch checkpoints → MindSpore.

Each converter module exposes ``register(subparsers)``, which adds one subcommand whose
``func(args)`` converts and returns a ``MappingReport`` (printed here; exit 1 when the load was
partial and refused), an exit status (int), or None (success); ``ValueError`` /
``FileNotFoundError`` mean a refused load (exit 1). A converter module that fails to import
is listed, not fatal.
"""
import argparse
import importlib
import sys

CONVERTERS = ("dinov3", "clip", "wav2clip", "aam")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m aam_ms.convert", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", metavar="KIND")
    unavailable = {}
    for name in CONVERTERS:
        try:
            importlib.import_module(f"aam_ms.convert.{name}").register(sub)
        except Exception as e:  # a broken converter must not hide the others
            unavailable[name] = f"{type(e).__name__}: {e}"
    if unavailable:
        parser.epilog = "unavailable converters: " + "; ".join(
            f"{k} ({v})" for k, v in unavailable.items())
    return parser, unavailable


def main(argv=None):
    parser, unavailable = build_parser()
    for name, why in unavailable.items():
        print(f"[convert] converter '{name}' unavailable: {why}", file=sys.stderr)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        report = args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"[convert] {args.kind}: {e}", file=sys.stderr)
        return 1
    if report is None or isinstance(report, int):
        return report or 0
    print(report.summary())
    if not report.ok:
        written = getattr(args, "allow_partial", False)
        print(f"[convert] {args.kind}: partial load "
              + ("written anyway (--allow-partial)" if written else "refused, nothing written"),
              file=sys.stderr)
        return 0 if written else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
