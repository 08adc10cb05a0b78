"""The layering of docs/architecture.md, as far as import-linter cannot see it.

import-linter (``lint-imports``, pyproject.toml) checks which package imports which, wherever
the import sits. This test adds: no import of another app inside a function or method body
(an import placed there to dodge a cycle hides a back edge from the reader), except in an
``AppConfig.ready()``, where Django needs it and where a higher app registers its hooks.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "bulk", "webfon", "users", "extensions", "licensing", "nodes", "accounts", "core")


def app_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def function_level_cross_app_imports(app: str, source: str) -> list[tuple[int, str, str]]:
    """(line, module, function) of each import of another app inside a function body."""
    found = []

    def visit(node: ast.AST, function: str | None, in_ready: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name, in_ready or child.name == "ready")
                continue
            if function is not None and not in_ready:
                for module in imported_modules(child):
                    top = module.split(".")[0]
                    if top in APPS and top != app:
                        found.append((child.lineno, module, function))
            visit(child, function, in_ready)

    visit(ast.parse(source), None, False)
    return found


def test_the_check_finds_an_import_hidden_in_a_function():
    source = (
        "import users.models\n"
        "def f():\n    from users.models import PortalUser\n"
        "class C:\n    def m(self):\n        if True:\n            import nodes.push\n"
        "    def ready(self):\n        from users import hooks\n"
        "def g():\n    from extensions.models import Extension\n"
    )
    assert function_level_cross_app_imports("extensions", source) == [
        (3, "users.models", "f"),
        (7, "nodes.push", "m"),
    ]


def test_the_check_reads_every_app():
    files = {path.relative_to(ROOT).as_posix() for _app, path in app_files()}
    for app in APPS:
        assert f"{app}/__init__.py" in files


@pytest.mark.parametrize("app", APPS)
def test_no_cross_app_import_inside_a_function(app):
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module} inside {function}()"
        for owner, path in app_files()
        if owner == app
        for line, module, function in function_level_cross_app_imports(app, path.read_text())
    ]
    assert not problems, (
        "Imports of another app inside a function (move it to the module's top, respecting "
        "docs/architecture.md's layers, or go up through a hook):\n" + "\n".join(problems)
    )


def test_every_hook_a_lower_app_calls_is_provided():
    """The apps above register every provider the apps below call (AppConfig.ready()); the
    system check portal.E010 names one that is missing."""
    from portal.checks import check_hooks_provided, unprovided_hooks
    from users import hooks

    assert unprovided_hooks() == []
    assert check_hooks_provided(None) == []
    function = hooks.live_sessions.function
    hooks.live_sessions._function = None
    try:
        assert [e.id for e in check_hooks_provided(None)] == ["portal.E010"]
        assert "users.live_sessions" in check_hooks_provided(None)[0].msg
    finally:
        hooks.live_sessions._function = function


def _list_pages():
    """Every list page of the URLconf (an ObjectListView with filters), by its model."""
    from django.urls import get_resolver

    from core.ui import ObjectListView

    pages = {}

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
                continue
            view = getattr(pattern.callback, "view_class", None)
            if view and issubclass(view, ObjectListView) and view.filterset_class:
                pages[view.model] = view

    walk(get_resolver().url_patterns)
    return pages


def _api_lists():
    from portal.api.urls import router

    # The FilterSet names its model (a viewset may build its queryset in get_queryset).
    return {
        viewset.filterset_class._meta.model: viewset
        for _prefix, viewset, _basename in router.registry
        if getattr(viewset, "filterset_class", None)
    }


def test_a_list_page_filters_with_its_api_filterset():
    """One FilterSet per model (docs/architecture.md): a list page whose model the API lists
    filters with the API's FilterSet, or with one built on it (the page's search box and
    "Todos" choices on top)."""
    pages, apis = _list_pages(), _api_lists()
    shared = sorted(model._meta.label for model in pages.keys() & apis.keys())
    assert len(shared) >= 7, shared  # users, extensions, pools, templates, sessions, nodes, pushes
    for model in pages.keys() & apis.keys():
        page, api = pages[model].filterset_class, apis[model].filterset_class
        assert issubclass(page, api), (model._meta.label, page, api)


def _transactional_marks_without_restore(source: str) -> list[int]:
    """Lines of ``django_db(transaction=True …)`` marks that do not restore the migrations'
    rows (``serialized_rollback=True``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "django_db"):
            continue
        options = {k.arg: k.value for k in node.keywords}
        transactional, restored = options.get("transaction"), options.get("serialized_rollback")
        if (isinstance(transactional, ast.Constant) and transactional.value is True) and not (
            isinstance(restored, ast.Constant) and restored.value is True
        ):
            lines.append(node.lineno)
    return lines


def test_the_transactional_mark_check_finds_a_mark_without_restore():
    source = "import pytest\npytestmark = pytest.mark.django_db(transaction=True)\n"
    assert _transactional_marks_without_restore(source) == [2]
    kept = "m = pytest.mark.django_db(transaction=True, serialized_rollback=True)\n"
    assert _transactional_marks_without_restore(kept) == []


def test_every_transactional_test_restores_what_the_migrations_wrote():
    """A transactional test empties the tables when it ends; the migrations' rows (the role
    groups, the system template) come back only by serialized_rollback, and a test without
    it leaves the next one that has it restoring rows the flush's post_migrate made again
    (duplicate 'administrador': six errors in CI)."""
    missing = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (lines := _transactional_marks_without_restore(path.read_text()))
    }
    assert missing == {}
