#!/usr/bin/env bash
# `make demo`: start the local GCS emulator, backfill the pipeline over the data's last days,
# then serve the API and the dashboard until Ctrl-C. Data persists under $EF_DATA_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=(".tools/bin/uv" "run" "--frozen")
command -v uv >/dev/null 2>&1 && RUN=("uv" "run" "--frozen")
export EF_DATA_DIR="${EF_DATA_DIR:-$PWD/.data}"
EMULATOR_PORT="${EF_EMULATOR_PORT:-4443}"
API_PORT="${EF_API_PORT:-8000}"
DASHBOARD_PORT="${EF_DASHBOARD_PORT:-8501}"
BACKFILL_DAYS="${DEMO_BACKFILL_DAYS:-4}"
# an invalid EF_* setting ends the demo here, in one line, before anything starts
"${RUN[@]}" python -m devtools check >/dev/null
mkdir -p "$EF_DATA_DIR"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

export STORAGE_EMULATOR_HOST="http://127.0.0.1:${EMULATOR_PORT}"
if curl -fsS "$STORAGE_EMULATOR_HOST/storage/v1/b" >/dev/null 2>&1; then
  echo "==> GCS emulator already running at $STORAGE_EMULATOR_HOST"
else
  echo "==> starting the GCS emulator at $STORAGE_EMULATOR_HOST (files in $EF_DATA_DIR/gcs)"
  "${RUN[@]}" python -m devtools emulator --root "$EF_DATA_DIR/gcs" --port "$EMULATOR_PORT" \
    >"$EF_DATA_DIR/emulator.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "$STORAGE_EMULATOR_HOST/storage/v1/b" >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

if [ -z "${ENERGY_SNAPSHOT:-}${EF_SNAPSHOT:-}" ]; then
  if [ -z "${EF_DATASET:-}" ]; then
    # no setting: the real DE35 sample shipped in the package, so a fresh machine needs no network
    ENERGY_SNAPSHOT="$("${RUN[@]}" python -c 'from components.datasets import SPECS, DEFAULT_DATASET, sample_path; print(sample_path(SPECS[DEFAULT_DATASET]))')"
    export ENERGY_SNAPSHOT
    echo "==> offline demo on the shipped sample $ENERGY_SNAPSHOT (EF_DATASET=<name> runs a live dataset)"
  else
    echo "==> EF_DATASET=$EF_DATASET: reading the Energi Data Service API (needs internet)."
  fi
fi
echo "==> backfilling the last ${BACKFILL_DAYS} days of the data, one run a day"
"${RUN[@]}" python -m devtools backfill --last-days "$BACKFILL_DAYS" --every 24h

echo "==> starting the API on http://127.0.0.1:${API_PORT}"
EF_API_PORT="$API_PORT" "${RUN[@]}" python -m serving >"$EF_DATA_DIR/api.log" 2>&1 &
pids+=($!)
echo "==> starting the dashboard on http://127.0.0.1:${DASHBOARD_PORT}"
EF_API_URL="http://127.0.0.1:${API_PORT}" "${RUN[@]}" python -m dashboard --port "$DASHBOARD_PORT" \
  >"$EF_DATA_DIR/dashboard.log" 2>&1 &
pids+=($!)
ready=no
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:${API_PORT}/api/v1/ready" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.2
done
if [ "$ready" = yes ]; then
  echo "==> API ready: $(curl -fsS "http://127.0.0.1:${API_PORT}/api/v1/meta" | head -c 300)"
else
  echo "==> warning: the API is not ready yet; see $EF_DATA_DIR/api.log" >&2
fi
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:${DASHBOARD_PORT}/_stcore/health" >/dev/null 2>&1; then
    echo "==> dashboard ready"; break
  fi
  sleep 0.2
done
cat <<TXT

  API        http://127.0.0.1:${API_PORT}/docs   (logs: $EF_DATA_DIR/api.log)
  Dashboard  http://127.0.0.1:${DASHBOARD_PORT}      (logs: $EF_DATA_DIR/dashboard.log)
  MLflow     ${RUN[*]} mlflow ui --backend-store-uri sqlite:///$EF_DATA_DIR/mlflow.db

Press Ctrl-C to stop (data stays in $EF_DATA_DIR; a second 'make demo' reuses it).
TXT
if [ "${DEMO_EXIT_AFTER_START:-0}" = "1" ]; then exit 0; fi
wait
