"""Every page of the menu passes an axe-core scan (WCAG 2.1 A and AA rules) in Chromium:
Spanish public administrations must meet them (RD 1112/2018). axe-core is vendored from the
npm registry (static/vendor/axe-core/) and evaluated in the page by the test."""

from pathlib import Path

import pytest
from django.conf import settings

from nodes.models import Node, Push
from tests.factories import (
    NodeFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AXE = (Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js").read_text()
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => `${v.id}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
}"""


def axe_violations(page) -> list[str]:
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy (no inline
    # script) stays as it is.
    page.evaluate(AXE)
    return page.evaluate(RUN, WCAG_21_AA)


def test_every_menu_page_passes_axe(visit, staff, licences, tmp_path):
    node = WebrtcNodeFactory(
        name="meet", transport=Node.Transport.LOCAL, local_root=str(tmp_path / "meet")
    )
    Push.objects.create(node=node, reasons=["node.update"], requested_by="jefa")
    extension = WebfonExtensionFactory(node=NodeFactory(name="corp"))
    pool = PoolFactory(base_extension=WebfonExtensionFactory(node=extension.node))
    PortalUserFactory(account="agente7")
    staff(username="jefa")
    visit.login("jefa")
    page = visit.page
    paths = sorted(
        set(page.locator("nav a[href^='/']").evaluate_all("links => links.map(a => a.pathname)"))
    )
    assert len(paths) >= 16, paths
    paths += [f"/webfon/pools/{pool.pk}/ocupacion/", "/webfon/pools/dimensionar/"]
    failures = {}
    for path in paths:
        visit.goto(path, path.strip("/").replace("/", "-") or "dashboard")
        found = axe_violations(page)
        if found:
            failures[path] = found
    assert not failures, "\n".join(f"{path}: {found}" for path, found in failures.items())
