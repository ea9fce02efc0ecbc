"""The launcher kfp.local's subprocess runner starts instead of ``python`` (stdlib only, run with -S).

    <python> -S warm_launch.py SOCKET REAL_PYTHON -m MODULE ARGS...

Hands ``-m MODULE ARGS`` with this process's working directory, environment and stdin/stdout/stderr
to the warm-interpreter server at SOCKET (see :mod:`devtools.warm`), which forks a pre-warmed copy
of itself to run it; then waits for that copy and exits with its exit status. Signals it receives
(SIGINT, SIGTERM) are passed on to the copy. Anything else, or no server listening, runs REAL_PYTHON
cold with the same arguments, so the launcher never changes what runs, only how fast it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time

DISABLE_ENV = "EF_WARM_DISABLE"
STARTUP_WAIT_S = 60.0
_INT = struct.Struct("!i")


def _cold(real_python: str, args: list[str]) -> None:
    os.execv(real_python, [real_python, *args])


def _read_int(conn: socket.socket) -> int | None:
    data = b""
    while len(data) < _INT.size:
        chunk = conn.recv(_INT.size - len(data))
        if not chunk:
            return None
        data += chunk
    return int(_INT.unpack(data)[0])


def _server_ready(socket_path: str) -> bool:
    """Whether the server listens, waiting while it is still starting (``SOCKET.starting`` holds
    its pid): it is importing what this task would import cold, and it started earlier."""
    marker = socket_path + ".starting"
    deadline = time.monotonic() + STARTUP_WAIT_S
    while not os.path.exists(socket_path):
        try:
            with open(marker, encoding="utf-8") as handle:
                os.kill(int(handle.read().strip() or 0), 0)
        except (OSError, ValueError):
            return os.path.exists(socket_path)  # no marker, or the server is gone
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: warm_launch.py SOCKET REAL_PYTHON [python arguments]", file=sys.stderr)
        return 2
    socket_path, real_python, args = argv[0], argv[1], argv[2:]
    if len(args) < 2 or args[0] != "-m" or os.environ.get(DISABLE_ENV):
        _cold(real_python, args)
    if not _server_ready(socket_path):
        _cold(real_python, args)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(socket_path)
    except OSError:
        conn.close()
        _cold(real_python, args)
    body = json.dumps({"argv": args[1:], "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(conn, [_INT.pack(len(body))], [0, 1, 2])
    conn.sendall(body)
    pid = _read_int(conn)
    if pid is None or pid <= 0:
        print(f"warm interpreter at {socket_path} refused the task; running it cold", file=sys.stderr)
        _cold(real_python, args)
        return 1  # not reached

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    status = _read_int(conn)
    if status is None:
        print(f"warm interpreter at {socket_path} went away while task {pid} ran", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
