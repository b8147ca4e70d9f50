from django.db import migrations, models


def pairs_from_requests(apps, schema_editor):
    """Each third party and target account keeps the ExternalId of its first request: later
    requests between them reuse it (access_requests/external_ids.py)."""
    AccessRequest = apps.get_model("access_requests", "AccessRequest")
    ExternalId = apps.get_model("accounts", "ExternalId")
    first = (
        AccessRequest.objects.filter(third_party=True)
        .exclude(external_id="")
        .order_by("source_account_id", "target_account_id", "pk")
        .values_list("source_account_id", "target_account_id", "external_id")
    )
    for source_id, target_id, value in first:
        ExternalId.objects.get_or_create(
            source_account_id=source_id,
            target_account_id=target_id,
            defaults={"value": value, "generated": True},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0005_list_order_index"),
        ("accounts", "0006_external_ids"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessrequest",
            name="external_id",
            field=models.CharField(blank=True, max_length=1224),
        ),
        migrations.RunPython(pairs_from_requests, migrations.RunPython.noop),
    ]
