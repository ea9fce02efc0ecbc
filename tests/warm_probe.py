"""Run as ``python -m tests.warm_probe CODE [ARGS]``: prints what a task sees, exits with CODE.

Used by tests/pipeline/test_warm.py to compare a task run through the warm-interpreter launcher with the
same task run cold. ``CODE`` ``raise`` raises an exception instead, ``kill`` kills itself,
``sleep`` sleeps 60 s, ``pool`` leaves a ``ThreadPoolExecutor`` with idle workers behind (as
MLflow and LightGBM helpers do) and exits 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time

PRELOAD_MARKER = "xml.dom.minidom"
"""Preloaded by the tests' server: present before any import in a warm task, absent in a cold one."""

if __name__ == "__main__":
    warm = PRELOAD_MARKER in sys.modules
    print(
        json.dumps(
            {
                "argv": sys.argv[1:],
                "cwd": os.getcwd(),
                "probe_env": os.environ.get("PROBE_ENV"),
                "stdin": sys.stdin.read(),
                "root_handlers": len(logging.getLogger().handlers),
                "name": __name__,
                "warm": warm,
            }
        ),
        flush=True,
    )
    print("to stderr", file=sys.stderr, flush=True)
    mode = sys.argv[1]
    if mode == "raise":
        raise RuntimeError("the probe failed on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "sleep":
        time.sleep(60)
    if mode == "pool":
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=2)
        pool.submit(time.sleep, 0.01).result()
        logging.probe_pool = pool  # type: ignore[attr-defined]  # kept alive, as a library's global pool
        sys.exit(0)
    sys.exit(int(mode))
