"""The three roles of the people who use the portal, as Django groups.

- administrador: everything;
- operador: reads everything, changes nothing;
- ventas: the licence summary and the calculator only.
"""

ROLE_ADMIN = "administrador"
ROLE_OPERATOR = "operador"
ROLE_SALES = "ventas"
ROLES = (ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES)

PORTAL_APPS = (
    "portal",
    "nodes",
    "extensions",
    "users",
    "licensing",
    "webfon",
    "accounts",
    "bulk",
)
SALES_PERMISSIONS = (("licensing", "view_licensestock"), ("licensing", "use_calculator"))


def sync_roles(apps) -> None:
    """Create the groups and give them the permissions of the portal's current models.

    Takes an app registry so migrations (historical models) and post_migrate (live
    models) share it; running it again is harmless.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    portal_perms = Permission.objects.filter(content_type__app_label__in=PORTAL_APPS)
    staff_perms = Permission.objects.filter(content_type__app_label="auth")

    admin, _ = Group.objects.get_or_create(name=ROLE_ADMIN)
    admin.permissions.set(list(portal_perms) + list(staff_perms))

    operator, _ = Group.objects.get_or_create(name=ROLE_OPERATOR)
    # The calculator only reads, so "reads everything" includes it.
    operator.permissions.set(
        list(portal_perms.filter(codename__startswith="view_"))
        + list(portal_perms.filter(codename="use_calculator"))
        + list(staff_perms.filter(codename__startswith="view_"))
    )

    sales, _ = Group.objects.get_or_create(name=ROLE_SALES)
    sales.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in SALES_PERMISSIONS
        ]
    )
