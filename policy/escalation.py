"""Privilege escalation: the actions that can mint or widen permissions, each with its reason.

A grant of any of them is a key to more than it names, so a request for one carries the finding
`privilege-escalation` and needs a platform admin's approval on top of the account's quorum
(access_requests.services.decisions.quorum). One table, three sources:

- IAM, STS and the services that run code as a role: Rhino Security Labs' published
  privilege-escalation methods
  (https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/), with the
  families that cloudsplaining and pmapper add (SSM, EC2 Instance Connect, ECS, CodeBuild,
  SageMaker);
- every action that rewrites a resource policy or an ACL: whoever may write one may add a
  statement of their own, which outlives the grant and which the portal's drift check never sees;
- everything else the IAM catalog's access level calls "Permissions management" ("grant or modify
  resource permissions", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html).

The actions that start a service with a role (ec2:RunInstances, lambda:CreateFunction, ...) only
escalate together with iam:PassRole, which hands the role over
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html). A grant's role holds
only what its request asked for, so they count when the same request asks for iam:PassRole too.

Pure: no Django, no boto3.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from policy.catalog import actions_at_level
from policy.evaluation.matching import action_matches
from policy.lint.findings import WARNING, Finding

CODE = "privilege-escalation"
PERMISSIONS_MANAGEMENT = "Permissions management"
PERMISSIONS_MANAGEMENT_REASON = (
    "the IAM catalog lists it under Permissions management, which changes who may do what"
)
_RUNS_AS_ROLE = "runs with the role it is handed, whatever that role may do"

# IAM and STS: writing permissions, minting credentials, taking on another identity.
IDENTITY_ACTIONS: dict[str, str] = {
    "iam:CreatePolicyVersion": "writes a new default version of a managed policy: any permission, "
    "for every user, group and role it is attached to",
    "iam:SetDefaultPolicyVersion": "switches a managed policy to another of its versions, which "
    "may allow more",
    "iam:AttachUserPolicy": "attaches any managed policy, AdministratorAccess too, to a user",
    "iam:AttachGroupPolicy": "attaches any managed policy, AdministratorAccess too, to a group",
    "iam:AttachRolePolicy": "attaches any managed policy, AdministratorAccess too, to a role",
    "iam:PutUserPolicy": "writes an inline policy of any content into a user",
    "iam:PutGroupPolicy": "writes an inline policy of any content into a group",
    "iam:PutRolePolicy": "writes an inline policy of any content into a role",
    "iam:AddUserToGroup": "adds a user to a group, with every permission of the group",
    "iam:UpdateAssumeRolePolicy": "rewrites a role's trust policy: anyone it names may then "
    "assume the role",
    "iam:CreateAccessKey": "creates an access key for another user: acting as that user",
    "iam:CreateLoginProfile": "gives a user without a console password one: signing in as them",
    "iam:UpdateLoginProfile": "changes a user's console password: signing in as them",
    "iam:DeleteRolePermissionsBoundary": "removes the boundary that caps a role's permissions",
    "iam:DeleteUserPermissionsBoundary": "removes the boundary that caps a user's permissions",
    "iam:PutRolePermissionsBoundary": "replaces the boundary that caps a role's permissions",
    "iam:PutUserPermissionsBoundary": "replaces the boundary that caps a user's permissions",
    "iam:PassRole": "hands a role to a service (EC2, Lambda, Glue, CloudFormation, Data Pipeline, "
    "SageMaker, CodeBuild, ECS), which then acts with the role's permissions",
    "sts:AssumeRole": "takes on another role's permissions, whatever they are",
    # Permissions handed out outside IAM's own policies; the catalog calls these Write.
    # https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html
    "sso:CreateAccountAssignment": "gives an IAM Identity Center user or group a permission set "
    "in an account: a role with whatever the set allows",
    "identitystore:CreateGroupMembership": "adds a user to an IAM Identity Center group, with "
    "every account assignment of the group",
    # Identity Center may take its users and groups from a Managed Microsoft AD: the directory's
    # writes are then its writes.
    # https://docs.aws.amazon.com/singlesignon/latest/userguide/manage-your-identity-source-ad.html
    "ds-data:AddGroupMember": "adds a member to a directory group, with every account assignment "
    "IAM Identity Center gives the group when it takes its users from the directory",
    "ds:ResetUserPassword": "sets a directory user's password: signing in as them, to IAM "
    "Identity Center too when it takes its users from the directory",
    # A trust anchor is an identity provider: certificates of its CA buy sessions of the roles of
    # its profiles. https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html
    "rolesanywhere:CreateTrustAnchor": "trusts a certificate authority of one's choosing, whose "
    "certificates buy sessions of the roles of the account's profiles",
    "rolesanywhere:UpdateTrustAnchor": "points a trust anchor at a certificate authority of one's "
    "choosing: sessions of every role that trusts the anchor",
    "rolesanywhere:CreateProfile": "creates a profile naming roles whose sessions certificates "
    "of a trust anchor then buy",
    "rolesanywhere:UpdateProfile": "adds roles to a profile, whose sessions certificates of a "
    "trust anchor then buy",
    # https://docs.aws.amazon.com/eks/latest/userguide/access-policies.html
    "eks:CreateAccessEntry": "lets an IAM principal into a Kubernetes cluster, in the Kubernetes "
    "groups it names",
    "eks:AssociateAccessPolicy": "gives an IAM principal Kubernetes permissions up to "
    "cluster-admin, and so the roles of the cluster's workloads",
}

# Running code as a role that already exists: the code gets the role's credentials.
CODE_AS_ROLE_ACTIONS: dict[str, str] = {
    "lambda:UpdateFunctionCode": "replaces a function's code, which then runs with the "
    "function's role",
    "lambda:UpdateFunctionConfiguration": "changes a function's layers and environment, so other "
    "code runs with the function's role",
    "glue:UpdateDevEndpoint": "puts an SSH key on a Glue development endpoint, which runs with "
    "its role",
    "cloudformation:UpdateStack": "changes a stack that deploys with its service role: anything "
    "that role may create",
    "cloudformation:CreateChangeSet": "prepares a change to a stack that deploys with its "
    "service role",
    "cloudformation:ExecuteChangeSet": "deploys a change set with the stack's service role",
    "codebuild:StartBuild": "runs a build, whose commands the caller may override, with the "
    "project's service role",
    "codebuild:StartBuildBatch": "runs builds, whose commands the caller may override, with the "
    "project's service role",
    "codebuild:UpdateProject": "changes a project's build commands, which run with its service "
    "role",
    "ssm:SendCommand": "runs commands on instances, with their instance profiles' credentials",
    "ssm:StartSession": "opens a shell on an instance, with its instance profile's credentials",
    # What SendCommand does, run by State Manager (AWS-RunShellScript on the targets).
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/state-manager-associations.html
    "ssm:CreateAssociation": "runs a document of one's choosing on instances, with their instance "
    "profiles' credentials",
    "ssm:UpdateAssociation": "changes what an association runs on its instances, with their "
    "instance profiles' credentials",
    # The definition alone can be changed: executions then run it with the machine's own role.
    # https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateStateMachine.html
    "states:UpdateStateMachine": "replaces a state machine's definition, whose tasks then call "
    "AWS with the state machine's role",
    "ec2-instance-connect:SendSSHPublicKey": "puts an SSH key on an instance: a shell with its "
    "instance profile's credentials",
    "ec2-instance-connect:SendSerialConsoleSSHPublicKey": "opens an instance's serial console: "
    "a shell with its instance profile's credentials",
    "ec2:ModifyInstanceAttribute": "changes an instance's user data, which runs as root with its "
    "instance profile at the next start",
    "ecs:ExecuteCommand": "runs commands in a running container, with its task role's credentials",
    "sagemaker:CreatePresignedNotebookInstanceUrl": "opens a notebook instance's Jupyter, which "
    "runs with the notebook's role",
    # https://docs.aws.amazon.com/sagemaker/latest/dg/notebook-lifecycle-config.html
    "sagemaker:UpdateNotebookInstanceLifecycleConfig": "changes the script a notebook instance "
    "runs as root at its start, with the notebook's role",
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreatePresignedDomainUrl.html
    "sagemaker:CreatePresignedDomainUrl": "signs in to a Studio user profile, whose apps run "
    "with the profile's execution role",
    "codestar:CreateProject": "creates a project whose template creates IAM resources with "
    "CodeStar's service role",
    "codestar:AssociateTeamMember": "makes a user owner of a CodeStar project, with the "
    "project's IAM permissions",
}

# Starting a service with a role: an escalation only with iam:PassRole in the same request.
WITH_PASS_ROLE_ACTIONS: dict[str, str] = {
    "ec2:RunInstances": "with iam:PassRole, starts an instance with any role's instance profile",
    "ec2:RequestSpotInstances": "with iam:PassRole, starts an instance with any role's instance "
    "profile",
    "ec2:AssociateIamInstanceProfile": "with iam:PassRole, gives a running instance any role",
    "ec2:ReplaceIamInstanceProfileAssociation": "with iam:PassRole, gives a running instance any "
    "role",
    "autoscaling:CreateLaunchConfiguration": "with iam:PassRole, starts instances with any role",
    "lambda:CreateFunction": "with iam:PassRole, creates a function that " + _RUNS_AS_ROLE,
    "glue:CreateDevEndpoint": "with iam:PassRole, creates a development endpoint that "
    + _RUNS_AS_ROLE,
    "glue:CreateJob": "with iam:PassRole, creates a job that " + _RUNS_AS_ROLE,
    "glue:UpdateJob": "with iam:PassRole, changes a job so that it " + _RUNS_AS_ROLE,
    "cloudformation:CreateStack": "with iam:PassRole, creates a stack that deploys with the role: "
    "anything that role may create",
    "datapipeline:CreatePipeline": "with iam:PassRole, creates a pipeline whose activities "
    + _RUNS_AS_ROLE,
    "datapipeline:PutPipelineDefinition": "with iam:PassRole, defines pipeline activities that "
    + _RUNS_AS_ROLE,
    "sagemaker:CreateNotebookInstance": "with iam:PassRole, creates a notebook that "
    + _RUNS_AS_ROLE,
    "sagemaker:CreateTrainingJob": "with iam:PassRole, creates a training job that "
    + _RUNS_AS_ROLE,
    "sagemaker:CreateProcessingJob": "with iam:PassRole, creates a processing job that "
    + _RUNS_AS_ROLE,
    "codebuild:CreateProject": "with iam:PassRole, creates a build project that " + _RUNS_AS_ROLE,
    "ecs:RegisterTaskDefinition": "with iam:PassRole, defines a task that " + _RUNS_AS_ROLE,
    "ecs:RunTask": "with iam:PassRole, runs a task that " + _RUNS_AS_ROLE,
}

_RESOURCE_POLICY = "rewrites the resource policy of "
_ACL = "rewrites the ACL of "
# Rewriting a resource policy or an ACL: the writer may grant anyone anything on the resource.
RESOURCE_POLICY_ACTIONS: dict[str, str] = {
    "s3:PutBucketPolicy": _RESOURCE_POLICY + "a bucket: anyone, any S3 action",
    "s3:DeleteBucketPolicy": "deletes a bucket's policy, with the Deny statements in it",
    "s3:PutBucketAcl": _ACL + "a bucket: anyone, any permission",
    "s3:PutObjectAcl": _ACL + "an object: anyone, any permission",
    "s3:PutObjectVersionAcl": _ACL + "an object version: anyone, any permission",
    "s3:PutAccessPointPolicy": _RESOURCE_POLICY + "an access point",
    "s3:PutBucketOwnershipControls": "turns a bucket's ACLs back on, or off",
    "s3:PutBucketPublicAccessBlock": "lifts the block on public bucket policies and ACLs",
    "kms:PutKeyPolicy": _RESOURCE_POLICY + "a KMS key: anyone, any use of the key",
    "kms:CreateGrant": "grants anyone the use of a KMS key",
    "sqs:SetQueueAttributes": "sets a queue's Policy attribute: anyone, any SQS action",
    "sqs:AddPermission": "adds a statement to a queue's policy",
    "sns:SetTopicAttributes": "sets a topic's Policy attribute: anyone, any SNS action",
    "sns:AddPermission": "adds a statement to a topic's policy",
    "secretsmanager:PutResourcePolicy": _RESOURCE_POLICY + "a secret: anyone may read it",
    "secretsmanager:DeleteResourcePolicy": "deletes a secret's policy, with the Deny statements "
    "in it",
    "lambda:AddPermission": "adds a statement to a function's policy: anyone may invoke it",
    "lambda:AddLayerVersionPermission": "shares a layer version with anyone",
    "ecr:SetRepositoryPolicy": _RESOURCE_POLICY + "a container repository",
    "ecr:PutRegistryPolicy": _RESOURCE_POLICY + "a container registry",
    "dynamodb:PutResourcePolicy": _RESOURCE_POLICY + "a table or stream",
    "kinesis:PutResourcePolicy": _RESOURCE_POLICY + "a stream",
    "glue:PutResourcePolicy": _RESOURCE_POLICY + "the Data Catalog",
    "events:PutPermission": _RESOURCE_POLICY + "an event bus",
    "logs:PutResourcePolicy": _RESOURCE_POLICY + "CloudWatch Logs",
    "glacier:SetVaultAccessPolicy": _RESOURCE_POLICY + "a vault",
    "backup:PutBackupVaultAccessPolicy": _RESOURCE_POLICY + "a backup vault",
    "elasticfilesystem:PutFileSystemPolicy": _RESOURCE_POLICY + "a file system",
    "apigateway:UpdateRestApiPolicy": _RESOURCE_POLICY + "a REST API",
    "codeartifact:PutRepositoryPermissionsPolicy": _RESOURCE_POLICY + "a package repository",
    "codeartifact:PutDomainPermissionsPolicy": _RESOURCE_POLICY + "a package domain",
    "serverlessrepo:PutApplicationPolicy": _RESOURCE_POLICY + "an application",
    "es:UpdateElasticsearchDomainConfig": "rewrites a search domain's access policy",
    "es:UpdateDomainConfig": "rewrites a search domain's access policy",
    "ec2:ModifySnapshotAttribute": "shares a volume snapshot with other accounts, or everyone",
    "ec2:ModifyImageAttribute": "shares a machine image with other accounts, or everyone",
    "rds:ModifyDBSnapshotAttribute": "shares a database snapshot with other accounts, or everyone",
    "rds:ModifyDBClusterSnapshotAttribute": "shares a cluster snapshot with other accounts, or "
    "everyone",
    "ram:CreateResourceShare": "shares resources with other accounts",
    "ram:AssociateResourceShare": "adds resources or accounts to a resource share",
}


@dataclass(frozen=True)
class Escalation:
    """One requested action (or wildcard) that can mint or widen permissions, and why."""

    action: str
    reason: str

    def finding(self) -> Finding:
        """The request's finding: a warning on its actions, which approval still allows."""
        return Finding(WARNING, CODE, None, "actions", f"{self.action}: {self.reason}.")


@cache
def _table() -> dict[str, tuple[str, str]]:
    """Every listed action, by its lower-case name: (its catalog spelling, the reason). The
    table's own reasons win over the catalog's access level."""
    table = {
        a.lower(): (a, PERMISSIONS_MANAGEMENT_REASON)
        for a in actions_at_level(PERMISSIONS_MANAGEMENT)
    }
    for entries in (RESOURCE_POLICY_ACTIONS, CODE_AS_ROLE_ACTIONS, IDENTITY_ACTIONS):
        table.update({action.lower(): (action, reason) for action, reason in entries.items()})
    return table


def _listed(action: str, *, pass_role: bool) -> list[tuple[str, str]]:
    """The listed actions this requested action or wildcard covers, with their reasons."""
    table = _table()
    paired = {a.lower(): (a, r) for a, r in WITH_PASS_ROLE_ACTIONS.items()} if pass_role else {}
    if "*" not in action and "?" not in action:
        entry = table.get(action.lower()) or paired.get(action.lower())
        return [entry] if entry else []
    return [
        entry for name, entry in [*table.items(), *paired.items()] if action_matches(action, name)
    ]


def privilege_escalations(actions: Iterable[str]) -> list[Escalation]:
    """The requested actions that can mint or widen permissions, in the request's order. A
    wildcard counts when it matches a listed action; its reason names what it matches."""
    requested = [action.strip() for action in actions]
    pass_role = any(action_matches(action, "iam:PassRole") for action in requested)
    found = []
    for action in requested:
        # The table's own entries first: they say more than the catalog's access level.
        listed = sorted(
            set(_listed(action, pass_role=pass_role)),
            key=lambda entry: (entry[1] == PERMISSIONS_MANAGEMENT_REASON, entry[0]),
        )
        if not listed:
            continue
        if len(listed) == 1 and listed[0][0].lower() == action.lower():
            found.append(Escalation(action, listed[0][1]))
            continue
        names = ", ".join(name for name, _reason in listed[:5])
        more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
        found.append(
            Escalation(
                action,
                f"matches {len(listed)} action{'s' if len(listed) != 1 else ''} that can mint "
                f"or widen permissions ({names}{more})",
            )
        )
    return found


def escalation_findings(actions: Iterable[str]) -> list[Finding]:
    """One `privilege-escalation` finding per requested action that can mint or widen
    permissions, with its reason."""
    return [escalation.finding() for escalation in privilege_escalations(actions)]
