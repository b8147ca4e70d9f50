"""Changes made in `/admin/` land in the audit trail, with the fields before and after.

Django's own `LogEntry` is a mutable table without the values; the portal's trust settings
(accounts, quorum, two-party approval, approver groups and their members, SCPs, webhooks) are
changed there, so each save and delete is also an append-only audit event in the same transaction
(the admin wraps every save in one).
"""

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpRequest

from audit.services import audit_record


def snapshot(instance: models.Model, redact: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """The instance's own columns as JSON values (a foreign key as its id)."""
    values = {
        field.attname: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }
    for name, hide in redact.items():
        if name in values:
            values[name] = hide(values[name])
    loaded: dict[str, Any] = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return loaded


def _changed(
    before: dict[str, Any], after: dict[str, Any], columns: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `columns` whose values differ: what the admin changed (not, say, the microseconds a
    form's rendering of a timestamp drops)."""
    keys = [key for key in after if key in columns and before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def _columns_of(obj: models.Model, form: Any) -> set[str]:
    """The columns behind the form fields the admin changed."""
    columns = {field.name: field.attname for field in obj._meta.concrete_fields}
    return {columns[name] for name in form.changed_data if name in columns}


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes are audit events: `admin.<model>.created`, `.changed`
    (only the fields that changed, before and after) and `.deleted`. `audit_redact` maps a field
    to what the trail keeps of it (a webhook URL carries a token: only its host). `audit_related`
    names a many-to-many relation recorded too (a group's members), as the sorted names in it."""

    audit_redact: dict[str, Callable[[Any], Any]] = {}
    audit_related: tuple[str, Callable[[Any], str]] | None = None

    def _verb(self, obj: models.Model, what: str) -> str:
        return f"admin.{obj._meta.model_name}.{what}"

    def _related(self, obj: models.Model) -> list[str]:
        if self.audit_related is None or obj.pk is None:
            return []
        relation, name = self.audit_related
        return sorted(name(item) for item in getattr(obj, relation).all())

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = {}
        if change:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(stored, self.audit_redact) if stored is not None else {}
        super().save_model(request, obj, form, change)
        after = snapshot(obj, self.audit_redact)
        if change:
            before, after = _changed(before, after, _columns_of(obj, form))
        if before or after:
            audit_record(
                actor=request.user,
                verb=self._verb(obj, "changed" if change else "created"),
                obj=obj,
                before=before,
                after=after,
                client_address=request.META.get("REMOTE_ADDR") or None,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        before = self._related(form.instance)
        super().save_related(request, form, formsets, change)
        after = self._related(form.instance)
        if self.audit_related is not None and before != after:
            relation = self.audit_related[0]
            audit_record(
                actor=request.user,
                verb=self._verb(form.instance, f"{relation}_changed"),
                obj=form.instance,
                before={relation: before},
                after={relation: after},
                client_address=request.META.get("REMOTE_ADDR") or None,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = snapshot(obj, self.audit_redact)
        audit_record(
            actor=request.user,
            verb=self._verb(obj, "deleted"),
            obj=obj,
            before=before,
            client_address=request.META.get("REMOTE_ADDR") or None,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
