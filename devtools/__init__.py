"""Development-only: the local GCS emulator, process helpers, kfp.local runs with the warm fork server.

Not in the image or the wheel (``pyproject.toml`` builds ``components``, ``pipelines``, ``serving``
and ``dashboard``; ``Dockerfile.base`` copies only those): it imports in a checkout, where the
editable install puts the repository root on ``sys.path``. Nothing in those four packages imports it.

    python -m devtools run --reference-time 2023-01-17T00:00Z   # the whole DAG once under kfp.local
    python -m devtools backfill --last-days 4 --every 24h       # successive reference times
    python -m devtools emulator --root .data/gcs --port 4443    # the GCS emulator in the foreground
    python -m devtools.image --bases debian                     # make image: build Dockerfile.base
"""
