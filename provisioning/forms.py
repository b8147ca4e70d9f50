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

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("account")):
            raise forms.ValidationError("Choose a user or an account, not both.")
        return data
