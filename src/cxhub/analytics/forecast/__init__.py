"""Demand forecasting: series of contacts per interval, candidate models, backtests.

Pure algorithms on numpy arrays (statsforecast for MSTL and AutoETS); the services layer
reads the warehouse or a file and stores the forecasts.
"""
