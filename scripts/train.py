#!/usr/bin/env python3
"""Standalone training entry (what scripts/run_distributed.sh launches per rank); same
arguments as ``python -m aam_ms.train``."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aam_ms.cli import run  # noqa: E402
from aam_ms.train import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run(main, prog="train"))
