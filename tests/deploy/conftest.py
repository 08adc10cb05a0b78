# The browser tests' guard for serialized_rollback under Playwright applies here too.
from tests.e2e.conftest import _serialized_rollback_survives_playwright  # noqa: F401
