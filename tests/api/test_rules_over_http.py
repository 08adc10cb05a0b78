"""Every rule of the service layer, reached through HTTP: same messages, 400 or 409."""

import pytest

from extensions.models import Extension, ExtensionPool, Template
from licensing.models import LicenseStock
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def ext(node, number, kind="physical", **extra):
    return {
        "number": number,
        "kind": kind,
        "node": node.pk,
        "site": "Sede",
        "department": "Dpto",
        **extra,
    }


def test_create_extension_and_secret_is_write_only(api, corporate, licences):
    response = api.post(
        "/api/v1/extensions/", ext(corporate, "1001", registration_secret="clave-de-registro-1")
    )
    assert response.status_code == 201, response.data
    assert "registration_secret" not in response.data
    detail = api.get(f"/api/v1/extensions/{response.data['id']}/")
    assert "registration_secret" not in detail.data
    listing = api.get("/api/v1/extensions/")
    assert "clave-de-registro-1" not in listing.content.decode()
    secret = api.get(f"/api/v1/extensions/{response.data['id']}/secret/")
    assert secret.status_code == 200 and secret.data == {
        "registration_secret": "clave-de-registro-1",
        "warning": "",
    }


def test_secret_endpoint_is_for_administrators(client_for, licences):
    extension = PhysicalExtensionFactory()
    assert (
        client_for("operador").get(f"/api/v1/extensions/{extension.pk}/secret/").status_code == 403
    )


def test_number_taken_is_409_with_message(api, corporate, licences):
    api.post("/api/v1/extensions/", ext(corporate, "1001"))
    response = api.post("/api/v1/extensions/", ext(corporate, "1001", kind="webfon"))
    assert response.status_code == 409
    assert "1001" in response.data["number"][0] and "física" in response.data["number"][0]
    assert Extension.objects.count() == 1


def test_number_change_to_a_taken_one_is_409(api, corporate, licences):
    PhysicalExtensionFactory(number="1001")
    webfon = WebfonExtensionFactory(number="7001", node=corporate)
    response = api.patch(f"/api/v1/extensions/{webfon.pk}/", {"number": "1001"})
    assert response.status_code == 409
    webfon.refresh_from_db()
    assert webfon.number == "7001"


def test_bad_number_is_400_field_error(api, corporate, licences):
    response = api.post("/api/v1/extensions/", ext(corporate, "12ab"))
    assert response.status_code == 400
    assert list(response.data) == ["number"]


def test_physical_extension_in_pool_is_400(api, corporate, licences):
    pool = PoolFactory()
    response = api.post("/api/v1/extensions/", ext(corporate, "1001", pool=pool.pk))
    assert response.status_code == 400
    assert "1001" in response.data["pool"][0]
    assert not Extension.objects.filter(number="1001").exists()


def test_licences_exhausted_is_409(api, corporate, set_stock):
    set_stock(0)
    response = api.post("/api/v1/extensions/", ext(corporate, "1001"))
    assert response.status_code == 409
    assert "hacen falta 1 y quedan 0" in response.data["detail"]
    assert not Extension.objects.exists()


def test_pool_base_not_member_and_base_must_be_webfon(api):
    base = WebfonExtensionFactory(number="7000")
    response = api.post("/api/v1/pools/", {"name": "Pool A", "base_extension": base.pk})
    assert response.status_code == 201 and response.data["members"] == []
    physical = PhysicalExtensionFactory(number="1001")
    response = api.post("/api/v1/pools/", {"name": "Pool B", "base_extension": physical.pk})
    assert response.status_code == 400 and "1001" in response.data["base_extension"][0]
    assert ExtensionPool.objects.count() == 1


def test_pool_members_are_webfon_and_in_one_pool(api):
    pool_a, pool_b = PoolFactory(name="A"), PoolFactory(name="B")
    physical = PhysicalExtensionFactory(number="1001")
    member = WebfonExtensionFactory(number="7100", pool=pool_a)
    response = api.patch(f"/api/v1/pools/{pool_b.pk}/", {"members": [physical.pk]})
    assert response.status_code == 400 and "1001" in response.data["pool"][0]
    response = api.patch(f"/api/v1/pools/{pool_b.pk}/", {"members": [member.pk]})
    assert response.status_code == 409 and "7100" in response.data["pool"][0]
    member.refresh_from_db()
    assert member.pool == pool_a


def test_pool_members_replace(api):
    pool = PoolFactory()
    keep, drop = WebfonExtensionFactory(pool=pool), WebfonExtensionFactory(pool=pool)
    new = WebfonExtensionFactory()
    response = api.patch(f"/api/v1/pools/{pool.pk}/", {"members": [keep.pk, new.pk]})
    assert response.status_code == 200
    assert sorted(response.data["members"]) == sorted([keep.pk, new.pk])
    drop.refresh_from_db()
    assert drop.pool is None


def test_pool_range_creates_and_answers_the_extensions(api, licences):
    pool = PoolFactory()
    response = api.post(f"/api/v1/pools/{pool.pk}/range/", {"first": "7101", "last": "7110"})
    assert response.status_code == 201
    assert [e["number"] for e in response.data] == [str(n) for n in range(7101, 7111)]
    assert all(e["pool"] == pool.pk and e["kind"] == "webfon" for e in response.data)


def test_pool_range_all_or_nothing(api, licences):
    pool = PoolFactory()
    PhysicalExtensionFactory(number="7105")
    before = Extension.objects.count()
    response = api.post(f"/api/v1/pools/{pool.pk}/range/", {"first": "7101", "last": "7110"})
    assert response.status_code == 409 and "7105" in response.data["number"][0]
    assert Extension.objects.count() == before


def test_pool_range_without_licences_is_409(api, set_stock):
    pool = PoolFactory()
    set_stock(5)
    response = api.post(f"/api/v1/pools/{pool.pk}/range/", {"first": "7101", "last": "7110"})
    assert response.status_code == 409
    assert "hacen falta 10 y quedan 4" in response.data["detail"]
    assert Extension.objects.count() == 1


def test_pool_range_bad_bounds_is_400(api, licences):
    pool = PoolFactory()
    response = api.post(f"/api/v1/pools/{pool.pk}/range/", {"first": "7110", "last": "7101"})
    assert response.status_code == 400 and "last" in response.data


def test_system_template_is_read_only_and_duplicable(api):
    system = Template.objects.get(is_system=True)
    assert api.patch(f"/api/v1/templates/{system.pk}/", {"value": "x=y"}).status_code == 400
    assert api.delete(f"/api/v1/templates/{system.pk}/").status_code == 400
    response = api.post(f"/api/v1/templates/{system.pk}/duplicate/", {"name": "Copia"})
    assert response.status_code == 400 and "Copia" in response.data["name"][0]
    response = api.post(
        f"/api/v1/templates/{system.pk}/duplicate/", {"name": "Extensiones webfon Sur"}
    )
    assert (
        response.status_code == 201 and response.data["webfon"] and not response.data["is_system"]
    )
    assert response.data["copied_from"] == system.pk


def test_user_fixed_extension_xor_pool(api):
    fixed, pool = WebfonExtensionFactory(), PoolFactory()
    response = api.post(
        "/api/v1/users/",
        {"account": "ana", "name": "Ana", "webfon_extension": fixed.pk, "pool": pool.pk},
    )
    assert response.status_code == 400 and "ana" in response.data["pool"][0]
    assert not PortalUser.objects.exists()


def test_fixed_extension_belongs_to_one_user(api):
    fixed = WebfonExtensionFactory(number="7001")
    PortalUserFactory(account="luis", webfon_extension=fixed)
    response = api.post(
        "/api/v1/users/", {"account": "ana", "name": "Ana", "webfon_extension": fixed.pk}
    )
    assert response.status_code == 409
    assert (
        "7001" in response.data["webfon_extension"][0]
        and "luis" in response.data["webfon_extension"][0]
    )


def test_second_factor_rules(api):
    response = api.post(
        "/api/v1/users/", {"account": "ana", "name": "Ana", "email": "", "second_factor": "email"}
    )
    assert response.status_code == 400 and "ana" in response.data["email"][0]
    response = api.post(
        "/api/v1/users/", {"account": "ana", "name": "Ana", "second_factor": "totp"}
    )
    assert response.status_code == 400 and "second_factor" in response.data
    assert not PortalUser.objects.exists()


def test_user_password_endpoint_and_no_secret_in_responses(api):
    user = PortalUserFactory(account="ana")
    assert api.post(f"/api/v1/users/{user.pk}/password/", {"password": "corta"}).status_code == 400
    response = api.post(f"/api/v1/users/{user.pk}/password/", {"password": "Una-clave-larga-1"})
    assert response.status_code == 204
    data = api.get(f"/api/v1/users/{user.pk}/").data
    assert data["has_password"] is True
    assert not {"password", "totp_secret"} & set(data)
    user.refresh_from_db()
    assert user.password.startswith(("md5$", "pbkdf2_")) and "Una-clave" not in user.password


def test_ldap_bind_password_is_write_only(api):
    response = api.patch(
        "/api/v1/ldap/", {"server_uri": "ldap://ldap.example.com", "bind_password": "S3creta!"}
    )
    assert response.status_code == 200
    assert "bind_password" not in response.data and response.data["bind_password_set"] is True
    assert "S3creta" not in api.get("/api/v1/ldap/").content.decode()
    response = api.patch("/api/v1/ldap/", {"user_filter": "(uid=x)"})
    assert response.status_code == 400 and "(uid=x)" in response.data["user_filter"][0]


def test_exempt_network_cidr_or_ip_mask(api):
    response = api.post("/api/v1/exempt-networks/", {"ip": "172.25.1.0", "mask": "255.255.255.0"})
    assert response.status_code == 201
    assert response.data["network"] == "172.25.1.0/24" and response.data["mask"] == "255.255.255.0"
    response = api.post("/api/v1/exempt-networks/", {"network": "172.25.1.0/24"})
    assert response.status_code == 409
    response = api.post("/api/v1/exempt-networks/", {"network": "172.25.1.5/24"})
    assert response.status_code == 400 and "172.25.1.5/24" in response.data["network"][0]


def test_stock_and_summary(api, set_stock):
    set_stock(10)
    PhysicalExtensionFactory.create_batch(3)
    WebfonExtensionFactory.create_batch(2, pool=PoolFactory())
    summary = api.get("/api/v1/licensing/summary/").data
    assert summary["stock"] == 10 and summary["used_physical"] == 3
    assert summary["used_webfon"] == 3 and summary["used_webfon_pool"] == 2 and summary["free"] == 4
    response = api.put("/api/v1/licensing/stock/", {"stock": 5})
    assert response.status_code == 409 and "6" in response.data["stock"][0]
    assert LicenseStock.objects.get().stock == 10
    assert api.put("/api/v1/licensing/stock/", {"stock": 6}).data["free"] == 0


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ("physical=100&fixed_webfon=100", 200),
        ("physical=100&pool_size=25", 125),
        ("physical=100&fixed_webfon=5&pool_size=25", 130),
        ("fixed_webfon=100", 100),
        ("physical=1&pool_size=2&pool_size=3", 6),
    ],
)
def test_calculator(api, query, total):
    response = api.get(f"/api/v1/licensing/calculate/?{query}")
    assert response.status_code == 200 and response.data["total"] == total


def test_calculator_post_and_bad_input(api):
    response = api.post(
        "/api/v1/licensing/calculate/", {"physical": 100, "fixed_webfon": 5, "pool_size": [25]}
    )
    assert (
        response.data["summary"] == "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias"
    )
    response = api.get("/api/v1/licensing/calculate/?physical=-1")
    assert response.status_code == 400 and "physical" in response.data
