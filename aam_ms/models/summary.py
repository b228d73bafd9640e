"""``python -m aam_ms.models.summary <name>``: total and trainable parameter counts of a model.

Buffers of the released state dict (RoPE periods, qkv bias masks) are not counted; trainable
parameters are LoRA, projections, FPD, fusion and decoder (train.py's keyword rule).
"""
import argparse
import sys

from .registry import count_params, create_model, list_models


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.models.summary", description=__doc__)
    ap.add_argument("name", help=f"model name, one of {list_models()}")
    args = ap.parse_args(argv)
    try:
        net = create_model(args.name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    total, trainable = count_params(net)
    print(f"{args.name}: total {total:,} ({total / 1e6:.2f} M), "
          f"trainable {trainable:,} ({trainable / 1e6:.2f} M), "
          f"frozen {total - trainable:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
