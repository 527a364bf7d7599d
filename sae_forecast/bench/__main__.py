"""``python -m sae_forecast.bench <study> [options]``: see :mod:`sae_forecast.bench.runner`."""

from sae_forecast.bench.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
