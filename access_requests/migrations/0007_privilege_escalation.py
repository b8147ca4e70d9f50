from django.db import migrations, models

from policy.escalation import CODE, escalation_findings


def requests_marked(apps, schema_editor):
    """Requests stored before the escalation check: mark those that ask for an action that can
    mint or widen permissions, and add its findings, so a pending one still waits for an admin."""
    AccessRequest = apps.get_model("access_requests", "AccessRequest")
    for access_request in AccessRequest.objects.only("pk", "actions", "findings").iterator():
        found = [finding.as_dict() for finding in escalation_findings(access_request.actions)]
        if not found:
            continue
        access_request.privilege_escalation = True
        others = [f for f in access_request.findings if f.get("code") != CODE]
        access_request.findings = [*found, *others]
        access_request.save(update_fields=["privilege_escalation", "findings"])


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0006_external_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="accessrequest",
            name="privilege_escalation",
            field=models.BooleanField(
                default=False,
                help_text="Asks for actions that can mint or widen permissions (policy.escalation): "
                "a platform admin's approval is needed on top of the account's quorum.",
            ),
        ),
        migrations.RunPython(requests_marked, migrations.RunPython.noop),
    ]
