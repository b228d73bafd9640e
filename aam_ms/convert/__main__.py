"""``python -m aam_ms.convert <kind> SRC DST ...`` — released PyTorch checkpoints ↔ MindSpore.

The kinds are the entries of :data:`aam_ms.weights.CONVERTERS`; each converter module's
``register(subparsers)`` adds its options and a ``func(state_dict, args)`` that returns
(tensors, MappingReport). SRC is read with :func:`aam_ms.weights.read_tensors` (safe loading
only), the mapping report is printed, and DST is written atomically — unless the load was
partial (``--allow-partial`` writes it anyway) or DST already exists (``--overwrite``): a
converter never replaces a file it was not asked to. Bad input exits 2 with one line.
"""
import argparse
import sys

from .. import cli, weights
from ..fileio import check_new_file
from . import aam, clip, dinov3, wav2clip

MODULES = {"aam": aam, "dinov3": dinov3, "clip": clip, "wav2clip": wav2clip}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m aam_ms.convert",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", metavar="KIND")
    for name in weights.CONVERTERS:          # the one table; each module adds its options
        p = MODULES[name].register(sub)
        p.add_argument("--allow-partial", action="store_true", help="write even if keys disagree")
        p.add_argument("--overwrite", action="store_true", help="replace an existing DST")
    return parser


def check_output(dst, suffix, overwrite):
    """Refuse a DST of the wrong kind, an existing DST (unless ``overwrite``) or an unwritable
    place — before any tensor is read."""
    if not dst.endswith(suffix):
        raise cli.UserError(f"{dst}: the output of this conversion is a {suffix} file; "
                            f"name it *{suffix}")
    check_new_file(dst, overwrite)


def main(argv=None):
    parser = build_parser()
    a = parser.parse_args(argv)
    if not a.kind:
        parser.print_help()
        return 2
    reverse = getattr(a, "reverse", False)
    check_output(a.dst, ".safetensors" if reverse else ".ckpt", a.overwrite)
    sd = weights.read_tensors(a.src)
    try:
        tensors, report = a.func(sd, a)
    except ValueError as e:     # the converter's "this is not a <kind> checkpoint"
        raise cli.UserError(f"{a.src}: {str(e).splitlines()[0]}") from e
    print(report.summary())
    if not report.ok and not a.allow_partial:
        raise cli.UserError(f"{a.src}: partial {a.kind} load refused, nothing written "
                            f"({report.line()}); --allow-partial writes it anyway")
    weights.check_finite(tensors, a.src)
    (weights.save_safetensors if reverse else weights.save_ckpt)(tensors, a.dst)
    print(f"[convert] {a.kind}: wrote {len(tensors)} tensors to {a.dst}")
    return 0


def cli_main():
    """Console script ``aam-convert`` (pyproject.toml): exit codes from :func:`aam_ms.cli.run`."""
    sys.exit(cli.run(main, prog="aam-convert"))


if __name__ == "__main__":
    cli_main()
