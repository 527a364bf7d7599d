"""sae_forecast.bench"""
