"""Clients, credentials and errors: the base every AWS function of the portal stands on.

Credentials come from boto3's default chain (the tooling account) and from the roles named in the
account records; never from settings or the database. `AWS_ENDPOINT_URL` points every client at the
embedded emulator in development; unset, it is real AWS.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from django.conf import settings

from core import metrics
from core.errors import ExternalError
from policy.arns import arn_parse

_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
)
# Error codes AWS uses for "slow down" and "try again"; everything else is a real refusal.
_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "ServiceFailure",
}
_RETRYABLE_EXCEPTIONS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
)


class AwsError(ExternalError):
    """An AWS call failed. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def __repr__(self) -> str:  # never print the secret parts
        return f"Credentials({self.access_key_id}, expires {self.expiration.isoformat()})"


@dataclass(frozen=True)
class AssumedRole:
    credentials: Credentials
    assumed_role_arn: str


def translate_error(error: Exception, doing: str) -> AwsError:
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        retryable = code in _RETRYABLE_CODES or status >= 500
        return AwsError(f"{doing}: {code}: {message}", code=code, retryable=retryable)
    if isinstance(error, _RETRYABLE_EXCEPTIONS):
        return AwsError(f"{doing}: AWS did not answer ({error})", retryable=True)
    return AwsError(f"{doing}: {error}")


def _call_counted(*, model: Any, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
    """botocore's after-call event (once per API call, after its retries): the call in
    `portal_aws_calls_total`, by service, operation and outcome (`ok` or AWS's error code)."""
    outcome = "ok"
    status = getattr(http_response, "status_code", 200)
    if status >= 300:
        outcome = (parsed or {}).get("Error", {}).get("Code") or f"http_{status}"
    metrics.aws_call_counted(
        service=model.service_model.endpoint_prefix, operation=model.name, outcome=outcome
    )


def calls_counted(client: Any) -> Any:
    """Every call of `client` lands in the metrics (botocore's event hooks).
    https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html"""
    service = client.meta.service_model.endpoint_prefix

    def call_failed(*, event_name: str, exception: Exception, **_: Any) -> None:
        # botocore's after-call-error event (a call that got no answer: refused, timed out)
        # carries no operation model: its name ends the event's name.
        metrics.aws_call_counted(
            service=service,
            operation=event_name.rsplit(".", 1)[-1],
            outcome=type(exception).__name__,
        )

    client.meta.events.register("after-call", _call_counted)
    client.meta.events.register("after-call-error", call_failed)
    return client


_clients: dict[tuple[str, str, str, str], Any] = {}
_clients_lock = threading.Lock()
# Clients for given credentials (the provisioner and broker role sessions) come from this one
# session, which loads the service models once: a fresh session per client costs about 100 ms.
_shared_session: boto3.session.Session | None = None


def client_for(
    service: str, credentials: Credentials | None = None, region: str | None = None
) -> Any:
    """A cached client: building one costs about 100 ms. `region` defaults to AWS_REGION; without
    `credentials`, the portal's own from boto3's default chain (a fresh session reads it)."""
    global _shared_session
    region = region or settings.AWS_REGION
    # The endpoint is part of the key: a client made before the endpoint changed (tests start
    # the emulator mid-session) must not be handed out after.
    endpoint = settings.AWS_ENDPOINT_URL or None
    key = (service, credentials.access_key_id if credentials else "", region, endpoint or "")
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            keys: dict[str, str] = {}
            if credentials is None:
                session = boto3.session.Session()
            else:
                if _shared_session is None:
                    _shared_session = boto3.session.Session()
                session = _shared_session
                keys = {
                    "aws_access_key_id": credentials.access_key_id,
                    "aws_secret_access_key": credentials.secret_access_key,
                    "aws_session_token": credentials.session_token,
                }
            client = calls_counted(
                session.client(
                    service,
                    region_name=region,
                    endpoint_url=endpoint,
                    config=_CLIENT_CONFIG,
                    **keys,
                )
            )
            if len(_clients) > 256:
                _clients.clear()
            _clients[key] = client
        return client


def pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of a list call, page after page: AWS may answer fewer items than asked for, and
    a token for the rest (IsTruncated/Marker, NextToken), on any list call.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRolePolicies.html"""
    return [
        item
        for page in client.get_paginator(operation).paginate(**params)
        for item in page.get(key, [])
    ]


def caller_identity(credentials: Credentials | None = None) -> dict[str, str]:
    try:
        answer = client_for("sts", credentials).get_caller_identity()
    except Exception as error:
        raise translate_error(error, "sts:GetCallerIdentity") from error
    return {"account": answer["Account"], "arn": answer["Arn"]}


def assume_role(
    *,
    role_arn: str,
    session_name: str,
    via: Credentials | None = None,
    duration: int = 900,
    external_id: str = "",
    source_identity: str = "",
    tags: dict[str, str] | None = None,
    settle: float = 0.0,
) -> AssumedRole:
    """sts:AssumeRole, then check the new identity really is in the role's account.

    `settle`: for up to this many seconds, an AccessDenied is asked again, with backoff (0.5 s,
    doubling), and when it still stands the error is retryable: IAM is eventually consistent, so
    a role just created, or whose trust policy just changed, may be refused for a few seconds.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency

    The answer's AssumedRoleUser.Arn is the ARN of the new credentials
    (arn:aws:sts::<account>:assumed-role/<role>/<session>): its account is checked, in the same
    round trip. (A GetCallerIdentity with the new keys said the same, on AWS and on the emulator,
    at the cost of a second STS call and a client per session.)
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumedRoleUser.html"""
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": duration,
    }
    if external_id:
        params["ExternalId"] = external_id
    if source_identity:
        params["SourceIdentity"] = source_identity
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    answer = _assume_settling(params, via, settle)
    raw = answer["Credentials"]
    credentials = Credentials(
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw["SessionToken"],
        expiration=raw["Expiration"],
    )
    expected_account = role_arn.split(":")[4]
    assumed_role_arn = answer["AssumedRoleUser"]["Arn"]
    arn = arn_parse(assumed_role_arn)
    actual_account = arn.account if arn is not None and arn.service == "sts" else ""
    if actual_account != expected_account:
        raise AwsError(
            f"sts:AssumeRole on {role_arn} returned credentials for {assumed_role_arn}",
            code="WrongAccount",
        )
    return AssumedRole(credentials=credentials, assumed_role_arn=assumed_role_arn)


def _assume_settling(params: dict[str, Any], via: Credentials | None, settle: float) -> Any:
    started, pause = time.monotonic(), 0.5
    while True:
        try:
            return client_for("sts", via).assume_role(**params)
        except Exception as error:
            failure = translate_error(error, f"sts:AssumeRole on {params['RoleArn']}")
            if failure.code != "AccessDenied" or settle <= 0:
                raise failure from error
            if time.monotonic() - started + pause > settle:
                waited = f"{failure} (still refused after {time.monotonic() - started:.1f} s)"
                raise AwsError(waited, code=failure.code, retryable=True) from error
        time.sleep(pause)
        pause *= 2


_role_sessions: dict[str, Credentials] = {}
_role_sessions_lock = threading.Lock()


def role_credentials(role_arn: str, *, session_name: str = "access-portal") -> Credentials:
    """Credentials of a portal role (provisioner or broker), cached until 5 minutes before expiry.

    These are taken from the tooling account's own credentials (boto3's default chain). A role
    just deployed may be refused for a few seconds: asked again for PORTAL_IAM_SETTLE_SECONDS."""
    with _role_sessions_lock:
        cached = _role_sessions.get(role_arn)
        if cached and cached.expiration.timestamp() - time.time() > 300:
            return cached
    credentials = assume_role(
        role_arn=role_arn,
        session_name=session_name,
        duration=3600,
        settle=settings.PORTAL_IAM_SETTLE_SECONDS,
    ).credentials
    with _role_sessions_lock:
        _role_sessions[role_arn] = credentials
    return credentials


def emulator_client(service: str, *, account_id: str, region: str | None = None) -> Any:
    """A client acting directly inside one emulated account (moto's x-moto-account-id header).
    Only for seeding the embedded emulator; real AWS has no such header."""
    if not settings.AWS_ENDPOINT_URL:
        raise AwsError("emulator_client needs AWS_ENDPOINT_URL (the embedded emulator)")
    client = boto3.session.Session().client(
        service,
        region_name=region or settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL,
        config=_CLIENT_CONFIG,
    )

    def add_account_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign.*.*", add_account_header)
    return calls_counted(client)
