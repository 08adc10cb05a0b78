"""gunicorn settings of the portal's web process: `gunicorn -c deploy/gunicorn.conf.py portal.wsgi`.

Read from the same environment as the portal (the units' EnvironmentFile). Apache terminates TLS
on this host and proxies to the address bound here, so it listens on loopback only.
"""

import os


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on
    except AttributeError:
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


wsgi_app = "portal.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# Requests mostly wait on MariaDB, Redis or a node's SSH: two processes per CPU and a few
# threads in each keep the CPUs busy; the live pages poll once a second per open tab.
workers = _int("GUNICORN_WORKERS", 2 * _cpus() + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# A worker process silent for this many seconds (hung) is killed and replaced. On a stop or a
# reload, workers get graceful_timeout seconds to finish the requests they are answering.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Apache on this host is the only client; it sets X-Forwarded-Proto (Django reads it through
# SECURE_PROXY_SSL_HEADER) and X-Forwarded-For.
forwarded_allow_ips = "127.0.0.1,::1"
# One line per request to standard output (the journal under systemd), with the time taken (µs).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "portal-web"
