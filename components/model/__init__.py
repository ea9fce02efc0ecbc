"""The forecaster: a global direct multi-horizon LightGBM model, baselines, backtest and MLflow registry.

Submodules import heavy libraries (lightgbm, sktime, mlflow) only where they need them, so
``components.model.config`` stays cheap to import for the tuning code.
"""
