"""Groups administrador / operador / ventas with their permissions."""

from django.db import migrations

from core.roles import ROLES, sync_roles


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; create them now so the groups get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("nodes", "0001_initial"),
        ("extensions", "0003_system_template"),
        ("users", "0002_ldap_settings_row"),
        ("licensing", "0002_license_stock_row"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
