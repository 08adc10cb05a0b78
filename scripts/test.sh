#!/usr/bin/env bash
# Install what the tests need and run everything: lint, Django checks, the test suite on
# SQLite, and again on MariaDB with the Redis broker when they answer on 127.0.0.1
# (REQUIRE_SERVERS=1, as CI sets it, makes their absence an error). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh dev
bash scripts/system-deps.sh
export DEBUG=1
MYSQL_URL="${TEST_MYSQL_URL:-mysql://root:@127.0.0.1:3306/test}"
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"

echo "== ruff"
ruff check .
ruff format --check .

echo "== import layers (docs/architecture.md)"
lint-imports

echo "== django checks"
python manage.py check --fail-level WARNING
python manage.py makemigrations --check --dry-run
# The production settings with a throw-away key, so not on the development database (whose
# secrets that key cannot read: the stored-secrets check would rightly warn).
DEBUG=0 SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  DATABASE_URL="sqlite://:memory:" \
  ALLOWED_HOSTS=portal.example.com python manage.py check --deploy --fail-level WARNING

servers_up() {
  python - "$MYSQL_URL" "$REDIS_URL" <<'PY'
import sys, pymysql, redis, dj_database_url
db = dj_database_url.parse(sys.argv[1])
try:
    pymysql.connect(host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"],
                    password=db["PASSWORD"], connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_connect_timeout=3).ping()
except Exception as exc:
    print(f"not reachable: {exc}")
    sys.exit(1)
PY
}

echo "== tests on SQLite (tasks in-process; the real-worker and row-locking tests need MariaDB + Redis)"
pytest --create-db -m "not broker and not mariadb" "$@"

if servers_up; then
  echo "== tests on MariaDB with the Redis broker"
  DATABASE_URL="$MYSQL_URL" CELERY_BROKER_URL="$REDIS_URL" pytest --create-db "$@"
elif [ "${REQUIRE_SERVERS:-0}" = "1" ]; then
  echo "MariaDB or Redis is not reachable and REQUIRE_SERVERS=1." >&2
  exit 1
else
  echo "== MariaDB/Redis not reachable on 127.0.0.1: only the SQLite run was done."
fi
