"""Hyper-parameter search over the one search space: Optuna locally, Katib on the cluster."""
