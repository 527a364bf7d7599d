"""sae_forecast.analysis"""
