"""Warm interpreters for kfp.local's subprocess runner: import the heavy libraries once, fork per task.

kfp.local starts every task as a fresh ``python -m kfp.dsl.executor_main ...``, and each fresh
interpreter spends seconds importing Great Expectations, MLflow, LightGBM, scikit-learn and pandas
before the step's first line of work (measured on the 2-core CI machines: GX ~4 s, MLflow + its
SQLAlchemy store ~3 s, LightGBM via scikit-learn ~2 s). That is what a pod pays on the cluster too,
but locally it made up most of a run's wall time.

:func:`warm_interpreter` starts a server that imports :data:`PRELOAD` once and listens on a Unix
socket, and writes a launcher script that kfp.local runs in place of ``python`` (the runner
substitutes ``sys.executable`` into each task's command; :func:`python_executable` points it at the
launcher for the duration of a run). For each task the launcher hands over ``-m MODULE ARGS``, its
working directory, environment and stdio; the server forks, and the copy runs the task exactly as
``python -m`` would (fresh ``sys.argv``/``os.environ``/cwd, module run as ``__main__``, normal
interpreter exit with atexit handlers) and the launcher exits with its status. Only third-party
libraries are preloaded, never this project's packages, so settings and code are read per task.
Everything else (no server, other arguments, ``EF_WARM_DISABLE=1``) runs cold, unchanged.

    python -m devtools.warm serve --socket PATH [--preload MOD ...]   # what warm_interpreter starts
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import importlib
import json
import logging
import os
import runpy
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

FIRST: tuple[str, ...] = (
    "kfp.dsl.executor_main",
    "pandas",
    "pyarrow.parquet",
    "google.cloud.storage",
    "pydantic_settings",
)
"""Imported before the server accepts tasks: what every task needs (kfp's executor, pandas, GCS)."""

PRELOAD: tuple[str, ...] = (
    "great_expectations",
    "sklearn.base",
    "lightgbm",
    "holidays",
    "matplotlib",
    "mlflow",
    "mlflow.pyfunc",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
)
"""Imported one at a time while no task is waiting, so a task never waits for more than one import."""

FIRST_TASK_GRACE_S = 3.0
"""How long the server waits for its first task before it starts on :data:`PRELOAD`."""

LAUNCHER = Path(__file__).with_name("warm_launch.py")
_INT = struct.Struct("!i")
_MAX_REQUEST = 16 * 1024 * 1024


_REPORT: socket.socket | None = None
"""In a forked task: the launcher's connection, for the task's pid and exit status."""


def starting_marker(socket_path: Path) -> Path:
    """``SOCKET.starting``: holds the server's pid until it listens (the launcher waits meanwhile)."""
    return socket_path.with_name(socket_path.name + ".starting")


class _Child(Exception):
    """Raised in a forked copy to leave the server loop and run the task at the top of the stack."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv[0])
        self.argv = argv


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError(f"request ended after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


class Server:
    """Accepts tasks on a Unix socket, forks one copy of itself per task, reports exit statuses."""

    def __init__(self, socket_path: Path, pending: Sequence[str] = ()) -> None:
        self.socket_path = socket_path
        self.pending = list(pending)
        self.waiting: dict[int, socket.socket] = {}
        self.tasks = 0
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.wakeup_r, self.wakeup_w = os.pipe()

    def serve_forever(self) -> None:
        """Listen (atomically: the socket appears under its name only once it accepts) and serve;
        import the pending modules one by one whenever no task is waiting."""
        staging = self.socket_path.with_name(self.socket_path.name + ".binding")
        self.listener.bind(str(staging))
        self.listener.listen(64)
        os.rename(staging, self.socket_path)
        starting_marker(self.socket_path).unlink(missing_ok=True)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, "reap")
        started = time.perf_counter()
        grace_until = time.monotonic() + FIRST_TASK_GRACE_S
        while True:
            # before the first task (usually a light one, and already on its way) import nothing
            # that it would have to wait for; then import the pending modules while idle
            if not self.pending:
                timeout: float | None = None
            elif self.tasks == 0:
                timeout = max(0.0, grace_until - time.monotonic())
            else:
                timeout = 0.0
            events = self.selector.select(timeout)
            if not events and self.pending:
                preload(self.pending[:1])
                del self.pending[:1]
                if not self.pending:
                    log.info("all modules preloaded after %.1f s", time.perf_counter() - started)
            for key, _ in events:
                if key.data == "accept":
                    self._accept()
                else:
                    os.read(self.wakeup_r, 4096)
                    self._reap()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        fds: list[int] = []
        try:
            header, fds, _, _ = socket.recv_fds(conn, _INT.size, 3)
            header += _recv_exact(conn, _INT.size - len(header))
            (size,) = _INT.unpack(header)
            if len(fds) != 3 or not 0 < size <= _MAX_REQUEST:
                raise ValueError(f"bad request header: {len(fds)} descriptors, {size} bytes")
            request = json.loads(_recv_exact(conn, size))
            argv, cwd, env = request["argv"], request["cwd"], request["env"]
            if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
                raise ValueError("argv must be a non-empty list of strings")
        except (OSError, ValueError, KeyError, ConnectionError) as err:
            log.warning("refusing a task: %s", err)
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        self.tasks += 1
        pid = os.fork()
        if pid == 0:
            self._become_task(conn, fds, cwd, env)
            raise _Child(argv)
        for fd in fds:
            os.close(fd)
        self.waiting[pid] = conn  # for a task that dies without reporting (killed, crashed)
        self._reap()

    def _become_task(self, conn: socket.socket, fds: list[int], cwd: str, env: dict[str, str]) -> None:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log.handlers.clear()
        log.propagate = True
        self.selector.close()
        self.listener.close()
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)
        for other in self.waiting.values():
            other.close()
        # the task reports its own pid and, from finish(), its exit status: the server may be busy
        # importing a module when the task ends, and the launcher should not wait for that
        global _REPORT
        _REPORT = conn
        with suppress(OSError):
            conn.sendall(_INT.pack(os.getpid()))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        # what a fresh interpreter would put on sys.path from the task's PYTHONPATH
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[1:1] = extra
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()

    def _reap(self) -> None:
        while self.waiting:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.waiting.pop(pid, None)
            if conn is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            with suppress(OSError):
                conn.sendall(_INT.pack(code if code >= 0 else 128 - code))
            conn.close()


def run_module_as_main(argv: list[str]) -> int:
    """What ``python -m argv[0] argv[1:]`` does, in this (forked) interpreter; returns the exit code."""
    module, args = argv[0], argv[1:]
    sys.argv = [module, *args]
    sys.path[0] = os.getcwd()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException as err:
        # the task's frames only, as ``python -m`` would print them
        traceback.print_exception(type(err), err, err.__traceback__.tb_next if err.__traceback__ else None)
        return 1
    return 0


def preload(modules: Sequence[str]) -> None:
    """Import ``modules``; a failure is logged, not fatal (tasks import that module themselves)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:
            log.warning("preloading %s failed: %s", name, err)


def serve(socket_path: Path, first: Sequence[str], pending: Sequence[str]) -> int:
    """Import ``first``, listen, import ``pending`` between tasks. ``socket_path + ".starting"``
    (made by :func:`warm_interpreter`) is removed once the server listens or gives up."""
    started = time.perf_counter()
    marker = starting_marker(socket_path)
    try:
        # every task runs kfp's executor with _KFP_RUNTIME=true (kfp.dsl imports less then);
        # import it the same way. Each task gets its own environment back after the fork.
        os.environ["_KFP_RUNTIME"] = "true"
        preload(first)
        log.info("preloaded %d modules in %.1f s; listening", len(first), time.perf_counter() - started)
        server = Server(socket_path, pending)
        server.serve_forever()
    except _Child as task:
        argv = task.argv
    except BaseException:
        marker.unlink(missing_ok=True)
        raise
    else:
        return 0
    code = run_module_as_main(argv)  # in the forked copy, outside the server's frames
    finish(code)
    return code  # not reached


def finish(code: int) -> None:
    """End a forked task the way an interpreter exits (threads joined, atexit handlers, stdio
    flushed), minus tearing down every preloaded module one by one (seconds, for nothing)."""
    # what Py_FinalizeEx does first: threading's own exit hooks (they tell ThreadPoolExecutor
    # workers to stop), then join every non-daemon thread. Joining before the hooks would hang.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    with suppress(Exception):
        ctypes.CDLL(None).fflush(None)  # C-level stdio too (LightGBM's native logs), as exit() would
    if _REPORT is not None:
        with suppress(OSError):
            _REPORT.sendall(_INT.pack(code))
    os._exit(code)


@contextmanager
def warm_interpreter(
    first: Sequence[str] = FIRST,
    modules: Sequence[str] = PRELOAD,
    python: str | None = None,
    ready_timeout_s: float = 0.0,
) -> Iterator[Path]:
    """Start a warm-interpreter server; yields the launcher to use as ``sys.executable``.

    A task launched while the server is still importing ``first`` waits for it (it would import
    the same modules cold); if the server is gone it runs cold. ``ready_timeout_s`` > 0 also waits
    here until the server listens.
    """
    from devtools.processes import stop_process  # here, not at the top: the server preloads no project code

    real_python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="ef-warm-") as tmp:
        folder = Path(tmp)
        socket_path = folder / "warm.sock"
        launcher = folder / "python"
        launcher.write_text(
            f'#!/bin/sh\nexec "{real_python}" -S "{LAUNCHER}" "{socket_path}" "{real_python}" "$@"\n',
            encoding="utf-8",
        )
        launcher.chmod(0o755)
        server_log = folder / "server.log"
        with server_log.open("wb") as log_file:
            server = subprocess.Popen(
                [
                    real_python,
                    *("-m", "devtools.warm", "serve", "--socket", str(socket_path)),
                    *("--first", ",".join(first), *modules),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[1],
            )
        marker = starting_marker(socket_path)
        if not socket_path.exists():
            marker.write_text(str(server.pid), encoding="utf-8")
        try:
            deadline = time.monotonic() + ready_timeout_s
            while ready_timeout_s and not socket_path.exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"warm interpreter did not start: {server_log.read_text()}")
                time.sleep(0.05)
            yield launcher
        finally:
            if stop_process(server) not in (0, -signal.SIGTERM):
                log.warning("warm interpreter exited with %s: %s", server.returncode, server_log.read_text())


_EXECUTABLE_LOCK = threading.Lock()


@contextmanager
def python_executable(path: Path | None) -> Iterator[None]:
    """Make ``sys.executable`` the launcher while kfp.local builds its task commands (None: no-op)."""
    if path is None:
        yield
        return
    with _EXECUTABLE_LOCK:
        original = sys.executable
        sys.executable = str(path)
        try:
            yield
        finally:
            sys.executable = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.warm",
        description="Warm-interpreter server for kfp.local tasks (started by `python -m devtools run`).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="preload modules, then fork one copy per task")
    serve_parser.add_argument("--socket", type=Path, required=True, help="Unix socket path to listen on")
    serve_parser.add_argument(
        "--first", default=",".join(FIRST), help="comma-separated modules to import before listening"
    )
    serve_parser.add_argument("modules", nargs="*", default=list(PRELOAD), help="modules to import later")
    args = parser.parse_args(argv)
    # the server's own log; the root logger stays unconfigured so each task configures its own
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s warm %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return serve(args.socket, [m for m in args.first.split(",") if m], args.modules)


if __name__ == "__main__":
    sys.exit(main())
