"""The request form: parses what the person typed. The rules live in drafts.draft_build."""

import re

from django import forms

from access_requests.models import AccessRequest
from accounts.models import Account

DURATION_CHOICES = [
    (3600, "1 hour"),
    (4 * 3600, "4 hours"),
    (8 * 3600, "8 hours"),
    (24 * 3600, "1 day"),
    (3 * 24 * 3600, "3 days"),
    (7 * 24 * 3600, "7 days"),
]


def _lines(value: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", value or "") if item]


class AccessRequestForm(forms.Form):
    source_account = forms.ModelChoiceField(
        queryset=Account.objects.all(),
        empty_label="Choose the account your identities are in",
        to_field_name="account_id",
    )
    source_principal = forms.CharField(
        required=False,
        max_length=2048,
        help_text="Blank: the account root, i.e. any identity of the source account the account "
        "allows (as in the article). Or one role ARN.",
    )
    target_account = forms.ModelChoiceField(
        queryset=Account.objects.filter(managed=True),
        empty_label="Choose the account that holds the resources",
        to_field_name="account_id",
    )
    more_target_accounts = forms.ModelMultipleChoiceField(
        queryset=Account.objects.filter(managed=True),
        required=False,
        to_field_name="account_id",
        widget=forms.CheckboxSelectMultiple,
        label="Also in these accounts",
        help_text="One request per account, each checked against that account's access rules "
        "and decided by its own approvers. In a resource ARN, ${Account} stands for each "
        "account's id.",
    )
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        max_length=5000,
        help_text="Exact IAM actions, one per line, e.g. dynamodb:GetItem.",
    )
    resources = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        max_length=20000,
        help_text="Resource ARNs in the target account, one per line; ${Account} stands for "
        "the account's id.",
    )
    access_via = forms.ChoiceField(
        choices=AccessRequest.AccessVia.choices,
        initial=AccessRequest.AccessVia.PORTAL,
        widget=forms.RadioSelect,
    )
    mechanism = forms.ChoiceField(
        required=False,
        choices=AccessRequest.RequestedMechanism.choices,
        initial=AccessRequest.RequestedMechanism.AUTO,
        help_text="Leave it to the portal, or choose another mechanism valid for the resources.",
    )
    duration = forms.TypedChoiceField(choices=DURATION_CHOICES, coerce=int, initial=8 * 3600)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="Why you need it."
    )
    ticket = forms.CharField(required=False, max_length=128, help_text="Optional, e.g. OPS-1234.")
    third_party = forms.BooleanField(
        required=False,
        help_text="The source is outside the organization: the trust policy will require the "
        "ExternalId the third party gave you.",
    )
    external_id = forms.CharField(
        required=False,
        max_length=1224,
        label="ExternalId",
        help_text="Third parties only: exactly as the third party gave it. Left empty, requests "
        "from this third party into this account reuse the one they share.",
    )
    generate_external_id = forms.BooleanField(
        required=False,
        label="Generate an ExternalId for me",
        help_text="Only if the third party asked you to make one: you will give it to them.",
    )

    break_glass = forms.BooleanField(
        required=False,
        label="Break-glass",
        help_text="An emergency: provisioned at once without approval, only where an access rule "
        "allows break-glass; the account's approvers and the admins are told at once and review "
        "it afterwards.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:  # the accounts stay as submitted; break-glass is a way to submit
            self.fields["source_account"].disabled = True
            self.fields["target_account"].disabled = True
            del self.fields["break_glass"]
            del self.fields["more_target_accounts"]

    @property
    def wants_break_glass(self) -> bool:
        """Whether the requester ticked break-glass (outside service_arguments: no draft field)."""
        return bool(getattr(self, "cleaned_data", {}).get("break_glass", False))

    def target_accounts(self) -> list[Account]:
        """The target account and the others ticked, each once, in the order shown."""
        data = getattr(self, "cleaned_data", {})
        first = data.get("target_account")
        if first is None:
            return []
        more = [a for a in data.get("more_target_accounts") or [] if a.pk != first.pk]
        return [first, *more]

    def service_arguments(self) -> dict:
        """The keyword arguments of access_request_submit and draft_build."""
        data = self.cleaned_data
        return {
            "source_account": data.get("source_account"),
            "target_account": data.get("target_account"),
            "source_principal": data.get("source_principal", ""),
            "actions": _lines(data.get("actions", "")),
            "resources": _lines(data.get("resources", "")),
            "access_via": data.get("access_via", AccessRequest.AccessVia.PORTAL),
            "mechanism": data.get("mechanism") or AccessRequest.RequestedMechanism.AUTO,
            "duration": data.get("duration"),
            "justification": data.get("justification", ""),
            "ticket": data.get("ticket", ""),
            "third_party": data.get("third_party", False),
            "external_id": data.get("external_id", ""),
            "generate_external_id": data.get("generate_external_id", False),
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            if name == "target_accounts":  # a submission for several accounts names each
                name = "more_target_accounts" if "more_target_accounts" in self.fields else ""
            if name in self.errors:
                continue  # the field's own check already said what is wrong
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class DecisionForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExtensionForm(forms.Form):
    duration = forms.TypedChoiceField(
        choices=DURATION_CHOICES, coerce=int, initial=8 * 3600, label="Extend by"
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="Why longer?"
    )
