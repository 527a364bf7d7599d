"""Plain-text helpers shared by the benchmarks: machine header and markdown tables."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

import pandas as pd
import torch

__all__ = ["cpu_model", "machine_line", "markdown", "markdown_table", "peak_rss_gib"]


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    r"""The processor's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``).

    Timings differ several-fold between CPU models of the same core count (MKL runs slower
    on AMD than on Intel), so every timed figure records it. Where the name carries no model
    number (a virtual machine's "AMD EPYC" is a Zen 3 or a Zen 4), the family and model
    numbers are added.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix="cpuinfo", delete=False) as info:
    ...     _ = info.write("cpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n")
    >>> cpu_model(info.name)
    'AMD EPYC (family 25, model 1)'
    >>> os.remove(info.name)
    """
    fields = _first_processor(cpuinfo)
    name = fields.get("model name")
    if not name:
        return platform.processor() or "unknown CPU"
    if not any(character.isdigit() for character in name) and "model" in fields:
        return f"{name} (family {fields.get('cpu family', '?')}, model {fields['model']})"
    return name


def _first_processor(cpuinfo: str) -> dict[str, str]:
    """The ``key: value`` fields of the first processor in ``cpuinfo`` (empty if unreadable)."""
    fields = {}
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    return fields


def machine_line(device: str = "cpu") -> str:
    """Describe the machine a figure was measured on (CPU, cores, threads, torch, device)."""
    parts = [
        f"{platform.machine()} {platform.system()} ({cpu_model()})",
        f"{os.cpu_count()} cores",
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
        f"device {device}",
    ]
    if device.startswith("cuda") and torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(0))
    return ", ".join(parts)


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub table; floats with 4 significant digits, NaN as blank.

    Examples
    --------
    >>> print(markdown(pd.DataFrame({"a": [1], "b": [0.123456], "c": [None]})))
    | a   | b      | c   |
    |:----|:-------|:----|
    | 1   | 0.1235 |     |
    """
    return frame.map(_cell).to_markdown(index=False, disable_numparse=True)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """:func:`markdown` of a list of row dicts, in the given column order."""
    return markdown(pd.DataFrame(list(rows), columns=list(columns)))


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (``VmHWM``, reset by ``exec``), in GiB.

    Off Linux, ``ru_maxrss`` (on Linux it would carry the parent's peak across ``exec``).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB -> GiB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
