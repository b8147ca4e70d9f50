"""The AWS console for a grant: a fresh session (the same rules, record and audit as credentials
from the session page) exchanged at AWS's federation endpoint for a sign-in URL.

https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
The URL holds a sign-in token good for 15 minutes: it is returned to the requester only, never
stored or logged.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from audit.services import audit_record
from aws import AwsError, federation
from core.errors import ServiceError
from policy.arns import arn_parse
from provisioning.models import CredentialIssue, Grant
from provisioning.sessions import session_start


@dataclass(frozen=True)
class ConsoleSignIn:
    url: str
    region: str
    issue: CredentialIssue


def grant_region(grant: Grant) -> str:
    """The region the grant's resources are in (the first that names one; S3 and IAM ARNs name
    none), else the portal's region."""
    for resource in grant.access_request.resources:
        arn = arn_parse(str(resource))
        if arn is not None and arn.region:
            return arn.region
    return settings.AWS_REGION


def console_sign_in(
    *, grant_id: int, user: User, client_address: str | None = None
) -> ConsoleSignIn:
    """A console sign-in URL for the grant's requester, on an active role grant only
    (session_start's rules: Grant.DoesNotExist, ServiceError). AWS's refusal, at STS or at the
    federation endpoint, is a ServiceError of kind UNAVAILABLE."""
    assumed, issue, _capped_by = session_start(
        grant_id=grant_id, user=user, client_address=client_address
    )
    grant = issue.grant
    partition = grant.access_request.target_account.partition
    region = grant_region(grant)
    endpoint = federation.federation_endpoint(partition, settings.PORTAL_FEDERATION_URL)
    try:
        token = federation.signin_token(
            assumed.credentials, endpoint=endpoint, session_duration=issue.duration
        )
    except AwsError as error:
        raise ServiceError(
            f"AWS gave no console sign-in: {error}", kind=ServiceError.UNAVAILABLE
        ) from error
    url = federation.login_url(
        endpoint=endpoint,
        token=token,
        destination=federation.console_destination(partition, region),
        issuer=settings.PORTAL_BASE_URL,
    )
    with transaction.atomic():
        audit_record(
            actor=user,
            verb="console.signed_in",
            obj=issue,
            access_request_id=grant.access_request_id,
            after={
                "access_key_id": issue.access_key_id,
                "assumed_role_arn": issue.assumed_role_arn,
                "region": region,
                "duration": issue.duration,
            },
            client_address=client_address,
        )
    return ConsoleSignIn(url=url, region=region, issue=issue)
