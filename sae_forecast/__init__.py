"""sae_forecast: LightSAE channel embeddings for channel-independent forecasters."""

__version__ = "0.1.0"

__all__ = ["__version__"]
