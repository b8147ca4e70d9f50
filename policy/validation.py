"""Checks on what a request asks for: known actions, ARNs of the right shape, the right account.

Pure functions: the form, the API and the services all call `access_validate`.
"""

from dataclasses import dataclass, field

from policy.arns import ACCOUNT_ID_RE, PARTITIONS, arn_matches_template, arn_parse
from policy.catalog import ACTION_RE, Action, action_lookup, service_known, service_retired

MAX_ACTIONS = 50
MAX_RESOURCES = 50
MAX_ARN_LENGTH = 2048


@dataclass
class AccessCheck:
    """The normalized actions and resources, and the messages per field when they are wrong."""

    actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors


def arn_correction(value: str) -> str | None:
    """The ARN the author most likely meant, for the mistakes seen in the wild (and the article)."""
    arn = arn_parse(value)
    if arn is None:
        return None
    if arn.service == "s3" and (arn.region or arn.account or arn.resource != arn.resource.lower()):
        bucket, _, key = arn.resource.partition("/")
        return f"arn:{arn.partition}:s3:::{bucket.lower()}" + (f"/{key}" if key else "")
    if arn.service == "dynamodb" and arn.resource.startswith("table:"):
        return f"arn:{arn.partition}:dynamodb:{arn.region}:{arn.account}:table/{arn.resource[6:]}"
    if arn.service != "iam" and arn.resource.startswith("role/"):
        return f"arn:{arn.partition}:iam::{arn.account}:{arn.resource}"
    return None


def _resource_shape_error(resource: str, target_account_id: str, partition: str) -> str | None:
    """What is wrong with an ARN whatever the actions: its shape, partition and account."""
    if len(resource) > MAX_ARN_LENGTH:
        return f"An ARN is at most {MAX_ARN_LENGTH} characters."
    arn = arn_parse(resource)
    if arn is None:
        return f"“{resource}” is not an ARN (arn:aws:service:region:account:resource)."
    if arn.partition not in PARTITIONS:
        return f"“{resource}”: the partition is one of {', '.join(PARTITIONS)}."
    if arn.partition != partition:
        return (
            f"“{resource}” is in the {arn.partition} partition; the target account is in "
            f"{partition}."
        )
    if arn.account and not ACCOUNT_ID_RE.match(arn.account):
        return f"“{resource}”: the account part must be 12 digits."
    if arn.account and arn.account != target_account_id:
        return (
            f"“{resource}” is in account {arn.account}, not in the target account "
            f"{target_account_id}."
        )
    return None


def _resource_error(
    resource: str, actions: list[Action], target_account_id: str, partition: str
) -> str | None:
    if error := _resource_shape_error(resource, target_account_id, partition):
        return error
    arn = arn_parse(resource)
    if arn is None:  # never: the shape check refuses what does not parse
        raise ValueError(f"{resource!r} is not an ARN")
    services = {action.service for action in actions}
    if arn.service not in services:
        return (
            f"“{resource}” is a {arn.service} resource, but no {arn.service} action is requested."
        )
    templates = [
        resource_type.arn_template
        for action in actions
        if action.service == arn.service
        for resource_type in action.resource_types
    ]
    if any(arn_matches_template(resource, template) for template in templates):
        return None
    message = f"“{resource}” does not match a resource type of the requested actions"
    correction = arn_correction(resource)
    if correction and any(arn_matches_template(correction, t) for t in templates):
        return f"{message}. Did you mean {correction}?"
    expected = ", ".join(sorted(set(templates))) or "Resource * only"
    return f"{message}; expected {expected}."


def access_validate(
    *, actions: list[str], resources: list[str], target_account_id: str, partition: str = "aws"
) -> AccessCheck:
    """Normalize and check a request's actions and resources for one target account (in
    `partition`: its resources' ARNs name the same one)."""
    check = AccessCheck()
    known: list[Action] = []
    if not actions:
        check.add("actions", "Name at least one action, e.g. dynamodb:GetItem.")
    if len(actions) > MAX_ACTIONS:
        check.add("actions", f"At most {MAX_ACTIONS} actions in one request.")
    for raw in actions[:MAX_ACTIONS]:
        value = raw.strip()
        if "*" in value or "?" in value:
            check.add("actions", f"“{value}”: name exact actions; wildcards grant more than asked.")
            continue
        action = action_lookup(value)
        if action is None:
            service = value.split(":", 1)[0].lower() if ":" in value else ""
            if not ACTION_RE.match(value):
                check.add("actions", f"“{value}” is not an action; write it as service:Action.")
            elif retired := service_retired(service):
                check.add("actions", f"“{value}”: {retired} is retired; nothing can be granted.")
            elif not service_known(service):
                check.add("actions", f"“{value}”: there is no AWS service “{service}”.")
            else:
                check.add("actions", f"“{value}” is not an action of {service}.")
            continue
        if action.qualified not in check.actions:
            check.actions.append(action.qualified)
            known.append(action)

    if not resources:
        check.add("resources", "Name at least one resource ARN.")
    if len(resources) > MAX_RESOURCES:
        check.add("resources", f"At most {MAX_RESOURCES} resources in one request.")
    for raw in resources[:MAX_RESOURCES]:
        value = raw.strip()
        if value == "*":
            check.add("resources", "Name exact resources; “*” would grant every resource.")
            continue
        if known:
            error = _resource_error(value, known, target_account_id, partition)
        else:  # no action to match against, but a wrong ARN is still worth saying at once
            error = _resource_shape_error(value, target_account_id, partition)
            correction = None if error else arn_correction(value)
            if correction and correction != value:
                error = f"“{value}” is not a valid ARN. Did you mean {correction}?"
        if error:
            check.add("resources", error)
            continue
        if value not in check.resources:
            check.resources.append(value)

    if known and check.resources and "resources" not in check.errors:
        for action in known:
            if not action.supports_resource_level:
                continue
            templates = [t.arn_template for t in action.resource_types]
            if not any(arn_matches_template(r, t) for r in check.resources for t in templates):
                check.add(
                    "actions",
                    f"{action.qualified} applies to none of the resources; it takes "
                    f"{', '.join(templates)}.",
                )
    return check
