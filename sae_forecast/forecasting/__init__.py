"""sae_forecast.forecasting"""
