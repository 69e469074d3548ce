#!/usr/bin/env bash
# Start the ingest scheduler and the Streamlit app together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8501}"

"$BIN/python" -m ingest schedule &
scheduler=$!
stop() {
  kill -TERM "$scheduler" 2>/dev/null || true
  wait "$scheduler" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

echo "Portfolio Nexus: http://localhost:${PORT}  (Ctrl-C stops the app and the scheduler)"
"$BIN/streamlit" run Home.py --server.port "$PORT" --server.headless true
