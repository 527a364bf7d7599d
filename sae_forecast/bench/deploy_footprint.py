"""What a deployment costs beside its latency: peak memory of a predicting process, install size.

Used by the ``deploy`` study (:mod:`sae_forecast.bench.deploy`). The peak memory is measured in
a fresh ``python -c`` process, which the bench runner's own ``--child`` cannot give: the runner
imports torch, which is what the onnxruntime process must do without.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

__all__ = ["RUNTIME_PACKAGES", "install_mib", "package_closure", "predicting_process_peak"]

# The packages a gateway installs to forecast with each runtime (numpy reads the rows in both).
RUNTIME_PACKAGES = {"onnxruntime": ("onnxruntime", "numpy"), "torch": ("torch", "numpy")}

_PEAK = """
def peak_mib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
_ONNXRUNTIME = """
import json, sys
import numpy as np
from sae_forecast.deploy import OnnxPredictor
predictor = OnnxPredictor.load(sys.argv[1], n_threads=1)
predictor.predict(np.load(sys.argv[2]))
torch = "torch" in sys.modules
print(json.dumps({"peak rss (MiB)": peak_mib(), "torch imported": torch}))
"""
_TORCH = """
import json, sys
import numpy as np
import torch
torch.set_num_threads(1)
model = torch.load(sys.argv[1], weights_only=False).eval()
with torch.inference_mode():
    model(torch.from_numpy(np.load(sys.argv[2]).astype(np.float32)))
print(json.dumps({"peak rss (MiB)": peak_mib(), "torch imported": True}))
"""
SCRIPTS = {"onnxruntime": _PEAK + _ONNXRUNTIME, "torch": _PEAK + _TORCH}


def predicting_process_peak(runtime: str, model_path: Path, rows_path: Path) -> dict:
    """Peak RSS of a fresh process that imports ``runtime`` only, loads the model and predicts.

    ``model_path``: the ONNX file (``"onnxruntime"``) or a whole module saved by
    ``torch.save`` (``"torch"``); ``rows_path``: a ``.npy`` of rows ``(batch, seq_len, N)``.
    """
    command = [sys.executable, "-c", SCRIPTS[runtime], str(model_path), str(rows_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def package_closure(names) -> list[str]:
    """The installed distributions ``names`` need: themselves and their required packages
    (extras left out), recursively.

    Examples
    --------
    >>> "numpy" in package_closure(["numpy"])
    True
    """
    found, todo = set(), [_normalise(name) for name in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        found.add(name)
        todo += [_normalise(r) for r in requires if "extra ==" not in r and _applies(r)]
    return sorted(found)


def install_mib(names) -> float:
    """MiB on disk of the files the distributions ``names`` installed (their RECORD).

    Examples
    --------
    >>> install_mib(["numpy"]) > 1
    True
    """
    total = 0
    for name in names:
        for file in importlib.metadata.distribution(name).files or []:
            path = Path(file.locate())
            total += path.stat().st_size if path.is_file() else 0
    return total / 2**20


def _normalise(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement.strip(), maxsplit=1)[0].lower()


def _applies(requirement: str) -> bool:
    """Whether a requirement's environment marker holds here (no marker: it does)."""
    if ";" not in requirement:
        return True
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate({"extra": ""})
