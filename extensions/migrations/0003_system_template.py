"""The system template "Plantilla para Extensiones webfon" with the value of manual §7.2."""

from django.db import migrations

NAME = "Plantilla para Extensiones webfon"
VALUE = "\n".join(
    [
        "username=${SIP.EXTEN}",
        "mailbox=${SIP.EXTEN}@default",
        "cc_agent_policy=generic",
        "cc_monitor_policy=generic",
        "sendrpid=pai",
        "trust_id_outbound=yes",
        "trustrpid=yes",
        "rpid_update=yes",
        "insecure=no",
        "setvar=DatosCTI=SI",
        "qualify=yes",
    ]
)


def create_system_template(apps, schema_editor):
    Template = apps.get_model("extensions", "Template")
    Template.objects.update_or_create(
        name=NAME, defaults={"value": VALUE, "is_system": True, "webfon": True}
    )


def delete_system_template(apps, schema_editor):
    apps.get_model("extensions", "Template").objects.filter(name=NAME, is_system=True).delete()


class Migration(migrations.Migration):
    dependencies = [("extensions", "0002_extension_relations")]

    operations = [migrations.RunPython(create_system_template, delete_system_template)]
