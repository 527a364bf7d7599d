"""Plain-text helpers shared by the benchmarks: machine header and markdown tables."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence

import torch

__all__ = [
    "cpu_model",
    "machine_line",
    "markdown_table",
    "measure_in_fresh_process",
    "plural",
    "replace_section",
]


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``).

    Timings differ several-fold between CPU models of the same core count (MKL runs slower
    on AMD than on Intel), so every timed figure records it.

    Examples
    --------
    >>> isinstance(cpu_model(), str) and len(cpu_model()) > 0
    True
    """
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def plural(n: int, noun: str) -> str:
    """``n`` and ``noun``, with an ``s`` unless ``n`` is 1.

    >>> plural(1, "thread"), plural(2, "run")
    ('1 thread', '2 runs')
    """
    return f"{n} {noun}" + ("" if n == 1 else "s")


def machine_line(device: str = "cpu") -> str:
    """Describe the machine a figure was measured on (CPU, cores, threads, torch, device).

    Examples
    --------
    >>> "torch" in machine_line()
    True
    """
    parts = [
        f"{platform.machine()} {platform.system()} ({cpu_model()})",
        f"{os.cpu_count()} cores",
        f"torch {torch.__version__} ({plural(torch.get_num_threads(), 'thread')})",
        f"device {device}",
    ]
    if device.startswith("cuda") and torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(0))
    return ", ".join(parts)


def replace_section(text: str, name: str, body: str) -> str:
    r"""Replace what lies between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``text``.

    Lets a generated table live inside a hand-written page (the README's headline results).
    A page without both markers raises ``ValueError``.

    Examples
    --------
    >>> page = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\nrest"
    >>> print(replace_section(page, "t", "new"))
    intro
    <!-- t:start -->
    new
    <!-- t:end -->
    rest
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found_start and found_end):
        raise ValueError(f"the page has no {start} ... {end} section to replace")
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Format ``rows`` (dicts) as a GitHub markdown table with the given column order.

    Examples
    --------
    >>> print(markdown_table([{"a": 1, "b": 0.123456}], ["a", "b"]))
    | a | b |
    |---|---|
    | 1 | 0.1235 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def measure_in_fresh_process(module: str, child: str, argv: Sequence[str]) -> dict:
    """Run ``python -m module --memory-child child *argv`` and return its last JSON line.

    Peak memory is only meaningful in a process that has done nothing else.
    """
    command = [sys.executable, "-m", module, "--memory-child", child, *argv]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
