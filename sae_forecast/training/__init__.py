"""sae_forecast.training"""
