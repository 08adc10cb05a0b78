#!/bin/sh
# manage.py as the installed portal runs: with the units' environment file. Run it as the
# portal's user, e.g. `runuser -u portal -- /opt/portal/deploy/manage.sh migrate`.
set -eu
set -a
. "${PORTAL_ENV_FILE:-/etc/portal/portal.env}"
set +a
cd "$(dirname "$0")/.."
exec .venv/bin/python manage.py "$@"
