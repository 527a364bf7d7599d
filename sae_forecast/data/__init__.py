"""sae_forecast.data"""
