from django.db import migrations


def create_row(apps, schema_editor):
    apps.get_model("licensing", "LicenseStock").objects.get_or_create(id=1, defaults={"stock": 0})


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
