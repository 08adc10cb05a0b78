"""A real password hasher (Django's MD5 one, fast) that records what it is asked to do, set
in PASSWORD_HASHERS by the ``recording_hasher`` fixture: how many passwords were hashed and
on which threads, and, with ``barrier`` set, a hash that waits for another to run at the
same time (a serial caller never gets past it)."""

import threading

from django.contrib.auth.hashers import MD5PasswordHasher


class RecordingHasher(MD5PasswordHasher):
    algorithm = "recording_md5"
    lock = threading.Lock()
    calls = 0
    threads: set[str] = set()
    barrier: threading.Barrier | None = None

    @classmethod
    def reset(cls) -> None:
        cls.calls = 0
        cls.threads = set()
        cls.barrier = None

    def encode(self, password: str, salt: str) -> str:
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            cls.threads.add(threading.current_thread().name)
        if cls.barrier is not None:
            cls.barrier.wait()
        return super().encode(password, salt)
