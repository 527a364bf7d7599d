"""Shared command line of the examples: ``--quick`` (or SAE_FORECAST_QUICK=1) and ``--out``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def parse(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("SAE_FORECAST_QUICK") == "1",
        help="tiny settings that finish in seconds (used by the tests)",
    )
    parser.add_argument("--out", default="examples_out", help="folder for the outputs")
    args = parser.parse_args()
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args
