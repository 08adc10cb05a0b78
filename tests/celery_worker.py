"""A real `celery worker` process for the tests that need one (marker "broker": MariaDB, which
the worker shares with the test, and the Redis broker); the fixtures ``queue`` and ``worker``
of tests/conftest.py start it on the test's own queue. bench/push_nodes.py starts its workers
with it too."""

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the database this process uses (MariaDB), for a worker to share it."""
    db = settings.DATABASES["default"]
    return (
        f"mysql://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
    )


class Worker:
    """A `celery worker` process on ``queue`` and this process's database, logging to a file.

    ``broker_url`` points it at another broker than the suite's; ``env`` overrides settings
    (the defaults below make a push's retries and leases short, for tests); ``name``, ``pool``
    and ``concurrency`` are celery's -n, -P and -c."""

    def __init__(
        self,
        queue: str,
        log: Path,
        broker_url: str = "",
        env: dict | None = None,
        *,
        name: str = "",
        pool: str = "",
        concurrency: int = 2,
    ):
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": queue,
            "PUSH_MAX_RETRIES": "1",
            "PUSH_RETRY_BASE_SECONDS": "1",
            "PUSH_RUNNING_LEASE_SECONDS": "3",
            "PUSH_PENDING_GRACE_SECONDS": "1",
            **({"CELERY_BROKER_URL": broker_url} if broker_url else {}),
            **(env or {}),
        }
        self.name = name or "worker"
        self.log = log
        # A file, not a pipe: nobody reads a pipe, and a full one would block the worker.
        self.handle = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                *(["-n", f"{name}@%h"] if name else []),
                "-Q",
                queue,
                *(["-P", pool] if pool else []),
                "-c",
                str(concurrency),
                # Reserve no more than it runs: what is not running stays queued in Redis
                # (and workers side by side share a burst evenly).
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=environment,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.text()[-3000:]}")
            return " ready." in self.text()

        wait_for(ready, timeout, what=f"worker {self.name} to be ready")

    def kill(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


def wait_for(predicate, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")
