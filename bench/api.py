"""Benchmark of the forecasts API: ours vs a constant FastAPI route (ceiling) vs the course's design.

In one run on one machine, each server in its own uvicorn process on loopback, one after another:

- ``ours``: ``python -m serving`` answering the series route of the configured dataset
  (``GET /api/v1/forecasts/{area}/{consumer_type}`` for the default DE35) from memory;
- ``ours_routed``: the same with ``EF_API_FAST_PATH=false`` (every request through FastAPI's routing);
- ``ceiling``: a plain FastAPI app whose only route returns a constant;
- ``course``: the course's design, which reads the forecast and observation Parquet files from the
  bucket (the emulator) on every request and filters them.

The load generator is a separate process (``wrk`` when installed, else a minimal asyncio HTTP/1.1 client)
with 32 concurrent connections for a fixed time. The data is every series of the dataset
(``EF_DATASET``, default DE35: 76 series) on a fresh emulator.
The last line printed is one JSON object with the figures and the targets.

    .tools/bin/uv run --frozen python bench/api.py --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("bench.api")

TARGETS = {"vs_ceiling": 0.5, "vs_course": 20.0, "p99_ms": 25.0}


# --- the two comparison servers (run in their own process by this same script) ----------------------
def ceiling_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/constant")
    async def constant() -> dict[str, str]:
        return {"status": "ok"}

    return app


def course_app() -> Any:
    """The course's design: download whole Parquet objects on every request, filter, answer JSON."""
    from fastapi import FastAPI, HTTPException

    from components import layout
    from components.storage import ObjectStore
    from serving.settings import ApiSettings

    settings = ApiSettings()
    keys = list(settings.spec.key_names)
    store = ObjectStore.from_settings(settings)
    app = FastAPI()

    @app.get("/api/v1/forecasts/{codes:path}")
    def series(codes: str) -> dict[str, Any]:
        wanted = codes.split("/")
        if len(wanted) != len(keys):
            raise HTTPException(404, "unknown series")
        pointer = store.read_json(layout.FORECAST_LATEST)
        features = store.read_json(
            layout.feature_latest(settings.feature_group, settings.feature_group_version)
        )
        forecast = store.read_parquet(pointer["forecast"])
        observed = store.read_parquet(features["snapshot"])
        for key, code in zip(keys, wanted, strict=True):
            forecast = forecast[forecast[key] == code]
            observed = observed[observed[key] == code]
        if forecast.empty:
            raise HTTPException(404, "unknown series")
        observed = observed.sort_values("datetime_utc").tail(168)
        return {
            "observations": json.loads(observed.to_json(orient="records", date_format="iso")),
            "forecast": json.loads(forecast.to_json(orient="records", date_format="iso")),
        }

    return app


def serve(which: str, host: str, port: int) -> None:
    import uvicorn

    app = ceiling_app() if which == "ceiling" else course_app()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


# --- load generation -------------------------------------------------------------------------------
def run_wrk(url: str, connections: int, duration: float, threads: int) -> dict[str, float]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    out = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "5s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    log.debug("wrk output:\n%s", out)

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            raise RuntimeError(f"no {pct}% latency in wrk output:\n{out}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if rps is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": int(total.group(1)),
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


async def _async_load(url: str, connections: int, duration: float) -> dict[str, float]:
    """Keep-alive HTTP/1.1 GETs on ``connections`` asyncio streams for ``duration`` seconds.

    A minimal client (status line, Content-Length body) so that the load generator, not an HTTP
    library's overhead, is what a Python fallback for ``wrk`` measures.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(worker() for _ in range(connections)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    errors += sum(isinstance(o, BaseException) for o in outcomes)
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "requests": len(latencies),
        "errors": errors,
    }


def run_async(url: str, connections: int, duration: float) -> dict[str, float]:
    """The asyncio client, in a subprocess of its own (never in the server's process)."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--loadgen",
            url,
            "--connections",
            str(connections),
            "--duration",
            str(duration),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def load(url: str, seconds: float, args: argparse.Namespace) -> dict[str, float]:
    if args.loader == "wrk":
        return run_wrk(url, args.connections, seconds, args.threads)
    return run_async(url, args.connections, seconds)


def combine(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """Throughput over all rounds; the median round's p50/p99 (the machine is shared and noisy)."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["requests"] / r["rps"] for r in rounds if r["rps"])
    return {
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "p99_ms_worst_round": round(max(r["p99_ms"] for r in rounds), 2),
        "requests": int(requests),
        "errors": int(sum(r["errors"] for r in rounds)),
        "rounds": [{k: round(r[k], 2) for k in ("rps", "p50_ms", "p99_ms")} for r in rounds],
    }


# --- orchestration ---------------------------------------------------------------------------------
def wait_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_s} s")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from components.storage import ObjectStore
    from devtools.emulator import GcsEmulator, free_port
    from devtools.processes import stop_process
    from serving.settings import ApiSettings
    from tests.api_fixtures import all_series, write_all

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, GcsEmulator(Path(tmp) / "gcs") as emulator:
        env = {
            **os.environ,
            "STORAGE_EMULATOR_HOST": emulator.url,
            "EF_BUCKET": "bench-api",
            "EF_PREFIX": "",
            "EF_DATA_DIR": str(Path(tmp) / "data"),
            "EF_API_LOG_LEVEL": "warning",
        }
        settings = ApiSettings(bucket="bench-api", prefix="", data_dir=Path(tmp) / "data").model_copy(
            update={"emulator_host": emulator.url}
        )
        store = ObjectStore.from_settings(settings)
        store.ensure_bucket()
        every = all_series(settings.spec)
        write_all(store, settings, series=every)
        series = every[0]
        path = "/api/v1/forecasts/" + "/".join(series)
        template = "/api/v1/forecasts/" + "/".join(f"{{{k}}}" for k in settings.spec.key_names)
        ours = [sys.executable, "-m", "serving", "--log-level", "warning"]
        servers: dict[str, tuple[list[str], str, dict[str, str]]] = {
            "ours": (ours, path, {}),
            "ours_routed": (ours, path, {"EF_API_FAST_PATH": "false"}),
            "ceiling": ([sys.executable, __file__, "--serve", "ceiling"], "/constant", {}),
            "course": ([sys.executable, __file__, "--serve", "course"], path, {}),
        }
        # all servers up at once (idle ones cost nothing); the rounds interleave them so that the
        # other load on the machine hits each of them alike
        processes: dict[str, subprocess.Popen[bytes]] = {}
        urls: dict[str, str] = {}
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        try:
            for name, (command, target, extra_env) in servers.items():
                port = free_port()
                cmd = [*command, "--host", args.host, "--port", str(port)]
                processes[name] = subprocess.Popen(cmd, env={**env, **extra_env}, cwd=REPO)
                urls[name] = f"http://{args.host}:{port}{target}"
            for name, url in urls.items():
                wait_up(url, processes[name])
                load(url, 1.0, args)  # warm-up
            for index in range(args.rounds):
                for name, url in urls.items():
                    rounds[name].append(load(url, args.duration / args.rounds, args))
                    log.info("round %d %-11s %s", index + 1, name, rounds[name][-1])
        finally:
            for process in processes.values():
                stop_process(process)
        results = {name: combine(r) for name, r in rounds.items()}
    best, ceiling, course = results["ours"], results["ceiling"], results["course"]
    ratios = {
        "vs_ceiling": round(best["rps"] / ceiling["rps"], 3),
        "vs_course": round(best["rps"] / course["rps"], 1) if course["rps"] else float("inf"),
    }
    return {
        "route": f"GET {template} ({'/'.join(series)}, {len(every)} series of {settings.dataset})",
        "loader": args.loader,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "ours": best,
        "ceiling": ceiling,
        "course": course,
        "ours_routed": results["ours_routed"],
        "routed_vs_ceiling": round(results["ours_routed"]["rps"] / ceiling["rps"], 3),
        **ratios,
        "targets": TARGETS,
        "meets": {
            "vs_ceiling": ratios["vs_ceiling"] >= TARGETS["vs_ceiling"],
            "vs_course": ratios["vs_course"] >= TARGETS["vs_course"],
            "p99_ms": best["p99_ms"] <= TARGETS["p99_ms"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/api.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=9.0, help="seconds of load per server, over all rounds (default 9)"
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--loader",
        choices=["auto", "wrk", "asyncio"],
        default="auto",
        help="load generator (auto: wrk if installed)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback interface for the servers")
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=["ceiling", "course"], help=argparse.SUPPRESS)
    parser.add_argument("--loadgen", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if (args.serve or args.loadgen) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if args.serve:
        serve(args.serve, args.host, args.port)
        return 0
    if args.loadgen:
        print(json.dumps(asyncio.run(_async_load(args.loadgen, args.connections, args.duration))))
        return 0
    if args.duration <= 0 or args.connections < 1 or args.rounds < 1:
        parser.error("--duration, --connections and --rounds must be positive")
    if args.duration / args.rounds < 1:
        parser.error("--duration must give each round at least 1 s")
    if args.loader == "auto":
        args.loader = "wrk" if shutil.which("wrk") else "asyncio"
    result = run(args)
    for name in ("ours", "ours_routed", "ceiling", "course"):
        r = result[name]
        print(
            f"{name:11s} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
            f"errors {r['errors']}"
        )
    print(f"ours/ceiling {result['vs_ceiling']}  ours/course {result['vs_course']}  meets {result['meets']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
