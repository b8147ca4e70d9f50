"""A proxy in front of the emulator that behaves as real AWS does where the emulator does not:
IAM's eventual consistency, throttling on every service, list calls that page, and S3 objects
owned by another account than the bucket's. Each behaviour is off until a test turns it on.

What AWS does, with its documentation:
- A new role, or a role whose trust policy just changed, may be refused to AssumeRole for a few
  seconds: "IAM ... achieves high availability by replicating data across multiple servers ...
  changes are not always immediately visible"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
- Every service throttles ("Rate exceeded"; S3 answers 503 SlowDown) and the SDKs retry with
  backoff: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
- List calls return a page and a token (IAM's IsTruncated/Marker, NextToken elsewhere) whatever
  page size was asked for: "IAM might return fewer than the MaxItems number of results even when
  there are more results available" https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRolePolicies.html
- Whoever uploads an S3 object owns it; the bucket owner cannot read its ACL (GetObjectAcl needs
  READ_ACP, which only the object's owner has unless granted) but sees its owner in ListObjectsV2
  with FetchOwner: https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
"""

import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.support import FaultProxy, ProxiedAnswer, ProxiedCall

_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")

# JSON-protocol list actions: list key, the request's token, the answer's token, a truncation flag.
_JSON_PAGES = {
    "AWSOrganizationsV20161128.ListAccounts": ("Accounts", "NextToken", "NextToken", None),
    "AWSOrganizationsV20161128.ListPolicies": ("Policies", "NextToken", "NextToken", None),
    "AWSOrganizationsV20161128.ListTargetsForPolicy": ("Targets", "NextToken", "NextToken", None),
    "DynamoDB_20120810.ListTables": (
        "TableNames",
        "ExclusiveStartTableName",
        "LastEvaluatedTableName",
        None,
    ),
    "TrentService.ListAliases": ("Aliases", "Marker", "NextMarker", "Truncated"),
    "TrentService.ListKeys": ("Keys", "Marker", "NextMarker", "Truncated"),
    "secretsmanager.ListSecrets": ("SecretList", "NextToken", "NextToken", None),
    "AmazonSQS.ListQueues": ("QueueUrls", "NextToken", "NextToken", None),
}
_JSON_PAGE_SIZES = ("MaxResults", "Limit")
# Query-protocol (form body, XML answer) list actions: the list element of the result.
_QUERY_PAGES = {
    "ListRolePolicies": "PolicyNames",
    "ListAttachedRolePolicies": "AttachedPolicies",
    "ListInstanceProfilesForRole": "InstanceProfiles",
    "ListRoles": "Roles",
    "ListPolicyVersions": "Versions",
    "ListTopics": "Topics",
}
_TOKEN = "page-"


def canonical_id(account_id: str) -> str:
    """A canonical user id per account (64 hex digits, as AWS's): the emulator gives every
    account the same one."""
    return hashlib.sha256(f"canonical user of {account_id}".encode()).hexdigest()


def _parsed(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 (the emulator's own answers, on this machine)


def _offset(token: str) -> int:
    return int(token.removeprefix(_TOKEN) or 0)


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in parent.iter() if _tag(c) == name), None)


def _xml(root: ET.Element) -> bytes:
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if namespace:
        ET.register_namespace("", namespace)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class AwsLikeProxy(FaultProxy):
    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        # IAM eventual consistency: AssumeRole on a role created or re-trusted less than this many
        # seconds ago is refused.
        self.settle_seconds = 0.0
        self.changed_roles: dict[str, float] = {}
        # Throttling: every other call of each service answers "slow down".
        self.throttle = False
        # Paging: list answers carry at most this many items (0: as the emulator answers).
        self.page_size = 0
        # S3 ownership: bucket -> owner account; (bucket, key) -> owner account when not the
        # bucket's owner.
        self.bucket_owners: dict[str, str] = {}
        self.object_owners: dict[tuple[str, str], str] = {}
        self.counts: Counter[str] = Counter()
        self._accounts: dict[str, str] = {}
        self._service_calls: Counter[str] = Counter()
        # The one canonical user id the emulator gives everyone, once seen.
        self._emulator_id: str | None = None
        self._state_lock = threading.Lock()

    def role_changed(self, role_arn: str) -> None:
        """The role was just created or its trust policy changed (outside the proxy, e.g. by
        CloudFormation): AssumeRole on it is refused for `settle_seconds` from now."""
        with self._state_lock:
            self.changed_roles[role_arn] = time.monotonic()

    # --- what AWS answers ---------------------------------------------------------------------

    def handle(self, call: ProxiedCall) -> ProxiedAnswer:
        scope = _SCOPE.search(call.headers.get("Authorization", ""))
        service = scope.group(3) if scope else ""
        if self.throttle and service:
            with self._state_lock:
                self._service_calls[service] += 1
                throttled = self._service_calls[service] % 2 == 1
            if throttled:
                self.counts[f"throttled {service}"] += 1
                return self._throttled(call, service)
        params = self._form(call)
        if service == "sts" and params.get("Action") == "AssumeRole" and self.settle_seconds:
            refused = self._not_yet_assumable(call, params.get("RoleArn", ""))
            if refused is not None:
                return refused
        if service == "s3" and (self.bucket_owners or self.object_owners):
            refused = self._s3_refused(call)
            if refused is not None:
                return refused
            call = self._ids_for_the_emulator(call)
        paged = self._page_request(call, service, params) if self.page_size else None
        answer = self.forward(paged[0] if paged else call)
        if answer.status >= 300:
            return answer
        if service == "iam" and params.get("Action") in ("CreateRole", "UpdateAssumeRolePolicy"):
            self._remember_change(call, params)
        if paged:
            answer = self._page_answer(paged[1], answer)
        if service == "s3" and (self.bucket_owners or self.object_owners):
            answer = self._s3_owners(call, answer)
        return answer

    def _throttled(self, call: ProxiedCall, service: str) -> ProxiedAnswer:
        if service == "s3":
            return self.error_answer(call, "SlowDown", 503, "Please reduce your request rate.")
        if call.headers.get("X-Amz-Target"):
            return self.error_answer(call, "ThrottlingException", 400, "Rate exceeded")
        return self.error_answer(call, "Throttling", 400, "Rate exceeded")

    @staticmethod
    def _form(call: ProxiedCall) -> dict[str, str]:
        if call.headers.get("X-Amz-Target") or not call.body.startswith(b"Action="):
            return {}
        return dict(parse_qsl(call.body.decode()))

    def caller_account(self, call: ProxiedCall) -> str:
        """The account of the credentials that signed the call, as the emulator knows them."""
        scope = _SCOPE.search(call.headers.get("Authorization", ""))
        key = scope.group(1) if scope else ""
        with self._state_lock:
            if key in self._accounts:
                return self._accounts[key]
        # The emulator checks no signatures: it names the account of an access key it issued.
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        # The emulator routes a call by the service its signature names: name STS.
        authorization = _SCOPE.sub(
            lambda m: f"Credential={m.group(1)}/20260101/us-east-1/sts/aws4_request",
            call.headers.get("Authorization", ""),
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/x-www-form-urlencoded",
            "Host": call.headers.get("Host", ""),
        }
        answer = self.forward(ProxiedCall("POST", "/", headers, body))
        account = re.search(rb"<Account>(\d{12})</Account>", answer.body)
        found = account.group(1).decode() if account else ""
        with self._state_lock:
            self._accounts[key] = found
        return found

    # --- IAM eventual consistency -------------------------------------------------------------

    def _remember_change(self, call: ProxiedCall, params: dict[str, str]) -> None:
        account = self.caller_account(call)
        path = params.get("Path", "/")
        self.role_changed(f"arn:aws:iam::{account}:role{path}{params['RoleName']}")
        if params.get("Action") == "UpdateAssumeRolePolicy":
            # The call names no path: match the role by name.
            with self._state_lock:
                for arn in list(self.changed_roles):
                    if arn.endswith(f"/{params['RoleName']}") and f"::{account}:" in arn:
                        self.changed_roles[arn] = time.monotonic()

    def _not_yet_assumable(self, call: ProxiedCall, role_arn: str) -> ProxiedAnswer | None:
        with self._state_lock:
            changed = self.changed_roles.get(role_arn)
            if changed is None:
                name = role_arn.rsplit("/", 1)[-1]
                account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
                changed = next(
                    (
                        at
                        for arn, at in self.changed_roles.items()
                        if arn.endswith(f"/{name}") and f"::{account}:" in arn
                    ),
                    None,
                )
        if changed is None or time.monotonic() - changed >= self.settle_seconds:
            return None
        self.counts["AssumeRole refused while settling"] += 1
        message = f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        return self.error_answer(call, "AccessDenied", 403, message)

    # --- paging -------------------------------------------------------------------------------

    def _page_request(
        self, call: ProxiedCall, service: str, params: dict[str, str]
    ) -> tuple[ProxiedCall, tuple[str, int, str]] | None:
        """The call to forward (asking the emulator for everything) and what to cut from its
        answer: (kind, offset, action)."""
        target = call.headers.get("X-Amz-Target", "")
        if target in _JSON_PAGES:
            _, token_in, _, _ = _JSON_PAGES[target]
            request = json.loads(call.body or b"{}")
            offset = _offset(str(request.pop(token_in, "")))
            for size in _JSON_PAGE_SIZES:
                request.pop(size, None)
            body = json.dumps(request).encode()
            return ProxiedCall(call.method, call.path, call.headers, body), ("json", offset, target)
        action = params.get("Action", "")
        if action in _QUERY_PAGES:
            offset = _offset(params.pop("Marker", params.pop("NextToken", "")))
            params.pop("MaxItems", None)
            body = urlencode(params).encode()
            return ProxiedCall(call.method, call.path, call.headers, body), (
                "query",
                offset,
                action,
            )
        if service == "s3" and call.method == "GET":
            parts = urlsplit(call.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            listing = (
                "objects"
                if query.get("list-type") == "2"
                else "buckets"
                if parts.path in ("", "/")
                else ""
            )
            if not listing:
                return None
            offset = _offset(query.pop("continuation-token", ""))
            query.pop("max-keys", None)
            query.pop("max-buckets", None)
            path = parts.path + ("?" + urlencode(query) if query else "")
            return ProxiedCall(call.method, path, call.headers, call.body), (listing, offset, "")
        return None

    def _page_answer(self, cut: tuple[str, int, str], answer: ProxiedAnswer) -> ProxiedAnswer:
        kind, offset, action = cut
        end = offset + self.page_size
        self.counts["pages"] += 1
        if kind == "json":
            key, _, token_out, truncated = _JSON_PAGES[action]
            document = json.loads(answer.body)
            items = document.get(key, [])
            document[key] = items[offset:end]
            document.pop(token_out, None)
            if truncated:
                document[truncated] = end < len(items)
            if end < len(items):
                document[token_out] = f"{_TOKEN}{end}"
            return ProxiedAnswer(answer.status, answer.headers, json.dumps(document).encode())
        root = _parsed(answer.body)
        if kind == "query":
            holder = _child(root, _QUERY_PAGES[action])
            assert holder is not None, f"no {_QUERY_PAGES[action]} in the answer to {action}"
            items = list(holder)
            result = next(c for c in root if _tag(c).endswith("Result"))
            token_name = "NextToken" if action == "ListTopics" else "Marker"
            for name in ("IsTruncated", token_name):
                old = _child(result, name)
                if old is not None:
                    result.remove(old)
        elif kind == "buckets":
            holder = _child(root, "Buckets")
            assert holder is not None
            items, result, token_name = list(holder), root, "ContinuationToken"
        else:
            holder = result = root
            items = [c for c in root if _tag(c) == "Contents"]
            token_name = "NextContinuationToken"
            for name in ("IsTruncated", "NextContinuationToken", "KeyCount"):
                for old in [c for c in root if _tag(c) == name]:
                    root.remove(old)
        for item in items[:offset] + items[end:]:
            holder.remove(item)
        namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        if kind != "buckets":
            ET.SubElement(result, namespace + "IsTruncated").text = str(end < len(items)).lower()
        if kind == "objects":
            ET.SubElement(result, namespace + "KeyCount").text = str(len(items[offset:end]))
        if end < len(items):
            ET.SubElement(result, namespace + token_name).text = f"{_TOKEN}{end}"
        return ProxiedAnswer(answer.status, answer.headers, _xml(root))

    # --- S3 ownership -------------------------------------------------------------------------

    @staticmethod
    def _s3_target(call: ProxiedCall) -> tuple[str, str, dict[str, str]]:
        parts = urlsplit(call.path)
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return unquote(bucket), unquote(key), dict(parse_qsl(parts.query, keep_blank_values=True))

    def _s3_refused(self, call: ProxiedCall) -> ProxiedAnswer | None:
        bucket, key, query = self._s3_target(call)
        owner = self.object_owners.get((bucket, key))
        if owner is None or "acl" not in query:
            return None
        if self.caller_account(call) == owner:
            return None
        # READ_ACP / WRITE_ACP on an object belong to its owner alone.
        self.counts[f"{call.method} object ACL refused"] += 1
        return self.error_answer(call, "AccessDenied", 403, "Access Denied")

    def _s3_owners(self, call: ProxiedCall, answer: ProxiedAnswer) -> ProxiedAnswer:
        """The emulator names one constant owner everywhere: name each resource's real one."""
        if call.method != "GET" or not answer.body.lstrip().startswith(b"<"):
            return answer
        bucket, key, query = self._s3_target(call)
        if not bucket:
            owner = self.caller_account(call)
        elif key and "acl" in query:
            owner = self.object_owners.get((bucket, key), self.bucket_owners.get(bucket, ""))
        elif "acl" in query:
            owner = self.bucket_owners.get(bucket, "")
        elif query.get("list-type") == "2":
            return self._listed_owners(bucket, answer)
        else:
            return answer
        if not owner:
            return answer
        return self._owner_replaced(answer, canonical_id(owner))

    def _ids_for_the_emulator(self, call: ProxiedCall) -> ProxiedCall:
        """An ACL written with the canonical ids this proxy shows is written with the one id the
        emulator knows, so the emulator's state stays its own (later tests read it directly)."""
        if self._emulator_id is None:
            return call
        ours = {
            canonical_id(a) for a in (*self.bucket_owners.values(), *self.object_owners.values())
        }
        headers = dict(call.headers)
        for name, value in call.headers.items():
            if name.lower().startswith("x-amz-grant-"):
                for fake in ours:
                    value = value.replace(fake, self._emulator_id)
                headers[name] = value
        return ProxiedCall(call.method, call.path, headers, call.body, call.action)

    def _owner_replaced(self, answer: ProxiedAnswer, owner_id: str) -> ProxiedAnswer:
        root = _parsed(answer.body)
        owner = _child(root, "Owner")
        if owner is None:
            return answer
        id_element = _child(owner, "ID")
        constant = id_element.text if id_element is not None else None
        if constant and constant != owner_id:
            self._emulator_id = constant
        for element in root.iter():
            if _tag(element) == "ID" and element.text == constant:
                element.text = owner_id
        return ProxiedAnswer(answer.status, answer.headers, _xml(root))

    def _listed_owners(self, bucket: str, answer: ProxiedAnswer) -> ProxiedAnswer:
        root = _parsed(answer.body)
        for contents in (c for c in root if _tag(c) == "Contents"):
            key_element, owner = _child(contents, "Key"), _child(contents, "Owner")
            if key_element is None or owner is None:
                continue
            account = self.object_owners.get(
                (bucket, key_element.text or ""), self.bucket_owners.get(bucket, "")
            )
            id_element = _child(owner, "ID")
            if account and id_element is not None:
                id_element.text = canonical_id(account)
        return ProxiedAnswer(answer.status, answer.headers, _xml(root))
