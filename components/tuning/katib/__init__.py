"""Hyper-parameter search on the cluster: a Katib ``Experiment`` built from the one search space.

- :mod:`~components.tuning.katib.experiment` builds the Experiment (``kubeflow-katib-api`` models);
- :mod:`~components.tuning.katib.runner` creates, watches and reads it back (``kubernetes`` client);
- :mod:`~components.tuning.katib.backend` is the ``katib`` backend of the ``tune`` stage (settings);
- :mod:`~components.tuning.katib.cli` prints the Experiment of the tune step
  (``python -m components.tuning.katib``).
"""
