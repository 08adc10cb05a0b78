import datetime

from django.db import migrations, models


def give_existing_tokens_an_expiry(apps, schema_editor):
    """Tokens made before expiries existed last 90 days from their creation (the default)."""
    ApiToken = apps.get_model("portal", "ApiToken")
    for token in ApiToken.objects.filter(expires_at__isnull=True).only("id", "created_at"):
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=token.created_at + datetime.timedelta(days=90)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_auditentry_client_ip"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="last_used_ip",
            field=models.GenericIPAddressField(
                blank=True, editable=False, null=True, verbose_name="dirección del último uso"
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="read_only",
            field=models.BooleanField(default=False, verbose_name="solo lectura"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(editable=False, null=True, verbose_name="caduca"),
        ),
        migrations.RunPython(give_existing_tokens_an_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(editable=False, verbose_name="caduca"),
        ),
    ]
