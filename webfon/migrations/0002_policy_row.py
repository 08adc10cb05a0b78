from django.db import migrations


def create_policy(apps, schema_editor):
    WebfonPolicy = apps.get_model("webfon", "WebfonPolicy")
    WebfonPolicy.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("webfon", "0001_initial")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
