"""IAM roles and their inline policies: what an assume-role grant writes."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import botocore.exceptions

from aws.core import AwsError, Credentials, assume_role, client_for, pages, translate_error


@dataclass(frozen=True)
class RoleState:
    arn: str
    trust_policy: dict[str, Any]
    max_session_duration: int
    tags: dict[str, str]
    inline_policies: dict[str, dict[str, Any]]
    path: str = "/"
    # The ARN of the role's permissions boundary, "" when it has none.
    permissions_boundary: str = ""


@dataclass(frozen=True)
class RoleAttachments:
    """What else holds on to a role besides its inline policies: the managed policies attached
    to it (ARNs) and the instance profiles it is in (names). DeleteRole fails while either is
    left."""

    managed_policies: tuple[str, ...]
    instance_profiles: tuple[str, ...]


def _decode_policy(value: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded strings (boto3 decodes some, not all)."""
    if isinstance(value, dict):
        return value
    return json.loads(unquote(value))


def role_read(credentials: Credentials, *, role_name: str) -> RoleState | None:
    """The role with its trust policy, tags and inline policies, or None if it does not exist."""
    iam = client_for("iam", credentials)
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
        names = pages(iam, "list_role_policies", "PolicyNames", RoleName=role_name)
        inline = {
            name: _decode_policy(
                iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            )
            for name in names
        }
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise translate_error(error, f"reading role {role_name}") from error
    except Exception as error:
        raise translate_error(error, f"reading role {role_name}") from error
    return RoleState(
        arn=role["Arn"],
        trust_policy=_decode_policy(role["AssumeRolePolicyDocument"]),
        max_session_duration=role.get("MaxSessionDuration", 3600),
        tags={tag["Key"]: tag["Value"] for tag in role.get("Tags", [])},
        inline_policies=inline,
        path=role.get("Path", "/"),
        permissions_boundary=role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn", ""),
    )


def role_attachments(credentials: Credentials, *, role_name: str) -> RoleAttachments:
    """The managed policies attached to the role and the instance profiles it is in (none when
    the role does not exist). Paginated: nothing attached is missed."""
    iam = client_for("iam", credentials)
    try:
        managed = [
            attached["PolicyArn"]
            for attached in pages(
                iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role_name
            )
        ]
        profiles = [
            profile["InstanceProfileName"]
            for profile in pages(
                iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role_name
            )
        ]
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return RoleAttachments(managed_policies=(), instance_profiles=())
        raise translate_error(error, f"reading what is attached to role {role_name}") from error
    except Exception as error:
        raise translate_error(error, f"reading what is attached to role {role_name}") from error
    return RoleAttachments(managed_policies=tuple(managed), instance_profiles=tuple(profiles))


def _gone_is_fine(call: Any, doing: str, **params: Any) -> bool:
    """Make one IAM call that removes something; False when it was already gone."""
    try:
        call(**params)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise translate_error(error, doing) from error
    except Exception as error:
        raise translate_error(error, doing) from error
    return True


def role_policy_detach(credentials: Credentials, *, role_name: str, policy_arn: str) -> bool:
    """Detach a managed policy from a role (the policy itself stays). False when it was not
    attached (any more)."""
    return _gone_is_fine(
        client_for("iam", credentials).detach_role_policy,
        f"detaching managed policy {policy_arn} from {role_name}",
        RoleName=role_name,
        PolicyArn=policy_arn,
    )


def role_instance_profile_remove(
    credentials: Credentials, *, role_name: str, instance_profile: str
) -> bool:
    """Take a role out of an instance profile (the profile itself stays). False when it was not
    in it (any more)."""
    return _gone_is_fine(
        client_for("iam", credentials).remove_role_from_instance_profile,
        f"removing role {role_name} from instance profile {instance_profile}",
        InstanceProfileName=instance_profile,
        RoleName=role_name,
    )


def role_policy_read(
    credentials: Credentials, *, role_name: str, policy_name: str
) -> dict[str, Any] | None:
    """One inline policy of a role as AWS holds it, or None if the role or the policy is missing.
    One call, whatever else the role holds (a broker role carries one policy per grant)."""
    try:
        answer = client_for("iam", credentials).get_role_policy(
            RoleName=role_name, PolicyName=policy_name
        )
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise translate_error(
            error, f"reading inline policy {policy_name} on {role_name}"
        ) from error
    except Exception as error:
        raise translate_error(
            error, f"reading inline policy {policy_name} on {role_name}"
        ) from error
    return _decode_policy(answer["PolicyDocument"])


def role_put(
    credentials: Credentials,
    *,
    role_name: str,
    path: str,
    trust_policy: str,
    max_session_duration: int,
    tags: dict[str, str],
    description: str,
    permissions_boundary: str,
) -> str:
    """Create the role with this permissions boundary, or bring an existing one to exactly this
    boundary, trust policy, duration and tags (the boundary first: the provisioner may write a
    portal role only while it carries the boundary). Returns its ARN. Safe to call again after a
    crash."""
    iam = client_for("iam", credentials)
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        try:
            role = iam.create_role(
                RoleName=role_name,
                Path=path,
                AssumeRolePolicyDocument=trust_policy,
                MaxSessionDuration=max_session_duration,
                Description=description,
                Tags=tag_list,
                PermissionsBoundary=permissions_boundary,
            )["Role"]
            return role["Arn"]
        except botocore.exceptions.ClientError as error:
            if error.response["Error"]["Code"] != "EntityAlreadyExists":
                raise
        existing = iam.get_role(RoleName=role_name)["Role"]
        if existing.get("Path", "/") != path:
            # Role names are unique whatever the path: a role of this name elsewhere is not one
            # the portal created, and the portal does not take it over.
            raise AwsError(
                f"Role {role_name} exists under {existing.get('Path')}, not {path}: it is not "
                "the portal's, and the portal leaves it alone.",
                code="NotThePortalsRole",
            )
        iam.put_role_permissions_boundary(
            RoleName=role_name, PermissionsBoundary=permissions_boundary
        )
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust_policy)
        iam.update_role(
            RoleName=role_name, MaxSessionDuration=max_session_duration, Description=description
        )
        iam.tag_role(RoleName=role_name, Tags=tag_list)
        return iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except AwsError:
        raise
    except Exception as error:
        raise translate_error(error, f"writing role {role_name}") from error


def role_policy_put(
    credentials: Credentials, *, role_name: str, policy_name: str, document: str
) -> None:
    """Put (create or replace) one inline policy on a role."""
    try:
        client_for("iam", credentials).put_role_policy(
            RoleName=role_name, PolicyName=policy_name, PolicyDocument=document
        )
    except Exception as error:
        doing = f"writing inline policy {policy_name} on {role_name}"
        raise translate_error(error, doing) from error


def role_policy_delete(credentials: Credentials, *, role_name: str, policy_name: str) -> bool:
    """Delete one inline policy. False when it was already gone."""
    return _gone_is_fine(
        client_for("iam", credentials).delete_role_policy,
        f"deleting inline policy {policy_name} on {role_name}",
        RoleName=role_name,
        PolicyName=policy_name,
    )


def role_delete(credentials: Credentials, *, role_name: str) -> bool:
    """Delete a role. False when it was already gone. DeleteRole fails while the role has inline
    or managed policies or is in an instance profile (role_attachments)."""
    return _gone_is_fine(
        client_for("iam", credentials).delete_role,
        f"deleting role {role_name}",
        RoleName=role_name,
    )


@dataclass(frozen=True)
class RolePermissions:
    """Every identity-side document of a role: inline and attached managed policies, and the
    permissions boundary."""

    inline: dict[str, dict[str, Any]]
    managed: dict[str, dict[str, Any]]
    boundary: dict[str, Any] | None
    trust_policy: dict[str, Any]


def _managed_document(iam: Any, policy_arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    return _decode_policy(document["PolicyVersion"]["Document"])


def managed_policy_read(credentials: Credentials, *, policy_arn: str) -> dict[str, Any] | None:
    """The default version of a managed policy (a permissions boundary, say), or None if there is
    no such policy."""
    iam = client_for("iam", credentials)
    try:
        return _managed_document(iam, policy_arn)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise translate_error(error, f"reading managed policy {policy_arn}") from error
    except Exception as error:
        raise translate_error(error, f"reading managed policy {policy_arn}") from error


def role_permissions(credentials: Credentials, *, role_name: str) -> RolePermissions | None:
    """The role's identity policies and boundary as AWS holds them now, or None if no such role."""
    iam = client_for("iam", credentials)
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
        inline = {
            name: _decode_policy(
                iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            )
            for name in pages(iam, "list_role_policies", "PolicyNames", RoleName=role_name)
        }
        managed = {
            attached["PolicyArn"]: _managed_document(iam, attached["PolicyArn"])
            for attached in pages(
                iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role_name
            )
        }
        boundary_arn = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        boundary = _managed_document(iam, boundary_arn) if boundary_arn else None
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise translate_error(error, f"reading the policies of role {role_name}") from error
    except Exception as error:
        raise translate_error(error, f"reading the policies of role {role_name}") from error
    return RolePermissions(
        inline=inline,
        managed=managed,
        boundary=boundary,
        trust_policy=_decode_policy(role["AssumeRolePolicyDocument"]),
    )


def role_answers(role_arn: str) -> str:
    """ "" when the role answers for itself through a session of its own (sts:AssumeRole, then
    iam:GetRole on the role), else why not. A session alone proves nothing: the emulator lets
    anyone assume even a role that does not exist. A fresh session each time (not
    core.role_credentials' cache), so a role deleted since the last check is seen.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html"""
    role_name = role_arn.rsplit("/", 1)[-1]
    try:
        session = assume_role(role_arn=role_arn, session_name="portal-readiness")
    except AwsError as error:
        return f"The portal cannot assume {role_arn}: {error}"
    try:
        client_for("iam", session.credentials).get_role(RoleName=role_name)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchEntity":
            return f"{role_arn} does not exist: deploy the member template (StackSet) there."
        return f"{role_arn} does not answer iam:GetRole on itself: {code or error}"
    except Exception as error:
        return f"{role_arn} does not answer: {translate_error(error, 'iam:GetRole')}"
    return ""
