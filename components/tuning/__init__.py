"""Hyper-parameter search over the one search space: Optuna locally, Katib on the cluster.

- ``space``: the spec language of ``components.model.config.SEARCH_SPACE`` and the one check of a
  value against it; ``plan``: what a search pins (``EF_TUNE_FIXED``) and what it searches;
- ``backend``: the :class:`~components.tuning.backend.TuningBackend` protocol and its result;
  ``optuna_backend`` and ``katib/`` (experiment, runner, backend, cli) implement it;
- ``run``: the ``tune`` stage (backend registry, best config stored); ``trial``: one Katib trial.
"""
