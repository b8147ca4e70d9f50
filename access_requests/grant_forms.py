from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from accounts.models import Account


class EmergencyRevokeForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        required=False,
        to_field_name="username",
        help_text="Every live grant this person requested.",
    )
    account = forms.ModelChoiceField(
        queryset=Account.objects.all(),
        required=False,
        to_field_name="account_id",
        help_text="Every live grant into or out of this account.",
    )
    confirm = forms.BooleanField(label="Yes, revoke them all now")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("account")):
            raise forms.ValidationError("Choose a user or an account, not both.")
        return data


class WhyDeniedForm(forms.Form):
    principal = forms.CharField(
        max_length=2048,
        help_text="Who called: e.g. arn:aws:sts::999999999999:assumed-role/portal-access-12/alice "
        "or arn:aws:iam::111111111111:role/DataAnalyst.",
    )
    action = forms.CharField(max_length=256, help_text="e.g. dynamodb:GetItem")
    resource = forms.CharField(max_length=2048, help_text="The resource ARN, or *.")
    context = forms.JSONField(
        required=False,
        help_text='Optional condition keys, e.g. {"aws:SourceIp": "10.1.2.3"}.',
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )

    def clean_context(self) -> dict:
        value = self.cleaned_data.get("context") or {}
        if not isinstance(value, dict) or not all(
            isinstance(v, str | list) for v in value.values()
        ):
            raise forms.ValidationError("A JSON object of condition keys to strings or lists.")
        return value
