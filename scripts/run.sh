#!/usr/bin/env bash
# Install the portal and run it on the embedded default: SQLite under var/, Celery tasks
# in-process, nodes of transport "local". Loads the demo installation and prints a login.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh base
export DEBUG="${DEBUG:-1}"
PORT="${PORT:-8000}"
python manage.py migrate --noinput
python manage.py seed_demo
python manage.py demo_admin --url "http://127.0.0.1:${PORT}/"
exec python manage.py runserver --noreload "127.0.0.1:${PORT}"
