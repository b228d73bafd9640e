"""``python -m aam_ms.models.summary <name>``: total and trainable parameter counts of a model.

Buffers of the released state dict (RoPE periods, qkv bias masks) are not counted; trainable
parameters are the ones the network marks ``requires_grad`` (LoRA, projections, FPD, fusion and
decoder). An unknown model name is one line, exit 2.
"""
import argparse
import sys

from ..cli import run
from .registry import count_params, create_model, list_models


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.models.summary", description=__doc__)
    ap.add_argument("name", help=f"model name, one of {list_models()}, or a config YAML")
    args = ap.parse_args(argv)
    net = create_model(args.name)          # ConfigError (a UserError) names an unknown model
    total, trainable = count_params(net)
    print(f"{args.name}: total {total:,} ({total / 1e6:.2f} M), "
          f"trainable {trainable:,} ({trainable / 1e6:.2f} M), "
          f"frozen {total - trainable:,}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="aam-summary"))
