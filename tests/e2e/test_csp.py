"""The Content-Security-Policy in Chromium: every page of the menu (and the pages behind
it) carries the header and Chromium reports no violation while drawing and using them;
the interactive API docs still work under it."""

import pytest
from playwright.sync_api import expect

from nodes.models import Node, Push
from tests.factories import (
    NodeFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_every_menu_page_has_the_policy_and_no_violation(visit, staff, licences, tmp_path):
    node = WebrtcNodeFactory(
        name="meet", transport=Node.Transport.LOCAL, local_root=str(tmp_path / "meet")
    )
    Push.objects.create(node=node, reasons=["manual"], requested_by="jefa")
    extension = WebfonExtensionFactory(node=NodeFactory(name="corp"))
    PoolFactory(base_extension=WebfonExtensionFactory(node=extension.node))
    user = PortalUserFactory(account="agente7")
    staff(username="jefa")

    page = visit.page
    page.add_init_script(WATCH_VIOLATIONS)
    console = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    visit.login("jefa")

    paths = set(
        page.locator("nav a[href^='/']").evaluate_all("links => links.map(a => a.pathname)")
    )
    assert {"/usuarios/", "/nodos/", "/tokens/", "/auditoria/", "/cuenta/"} <= paths
    paths |= {
        f"/nodos/{node.pk}/",
        f"/nodos/{node.pk}/cambios/",
        f"/nodos/{node.pk}/enviar/",
        f"/nodos/envios/{Push.objects.get().pk}/",
        f"/extensiones/{extension.pk}/",
        f"/usuarios/{user.pk}/",
        "/pools/nuevo/",
        "/licencias/calculadora/",
    }
    checked, violations = [], []
    for path in sorted(paths):
        response = page.goto(visit.base_url + path)
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        page.wait_for_load_state("networkidle")
        violations += page.evaluate("window.__csp")
        checked.append(path)
    visit.shot("last-page")

    # Pages that run scripts when used: the language switch, a TOTP QR code, the picker.
    visit.goto(f"/usuarios/{user.pk}/", "user")
    page.get_by_role("button", name="Dar de alta TOTP").click()
    expect(page.locator("#totp svg")).to_be_visible()
    violations += page.evaluate("window.__csp")
    visit.shot("totp-qr")
    page.select_option("#language-switch", "en")
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    violations += page.evaluate("window.__csp")
    page.select_option("#language-switch", "es")
    # The switch posts a form and reloads: wait for the reload, or the next goto races it.
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.wait_for_load_state("networkidle")

    # The interactive API docs draw the operations from the schema.
    response = page.goto(visit.base_url + "/api/v1/docs/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20_000)
    visit.shot("api-docs")

    violations += page.evaluate("window.__csp") + console
    assert violations == [], violations
    assert len(checked) >= 18
