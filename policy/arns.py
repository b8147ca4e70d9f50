"""ARNs: parsing, the shapes AWS accepts, and matching against catalog ARN templates.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

import re
from dataclasses import dataclass
from functools import cache

# ASCII only: Python's \d and \w also match other scripts' digits and letters, which IAM refuses.
ACCOUNT_ID_RE = re.compile(r"^\d{12}$", re.ASCII)
REGION_RE = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# Bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_RE = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# The partitions whose accounts the portal manages: commercial, China, GovCloud (US).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html (partition)
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
PARTITION_RE = r"aws(?:-cn|-us-gov)?"
ROLE_ARN_RE = re.compile(
    rf"^arn:{PARTITION_RE}:iam::(\d{{12}}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{{1,64}})$",
    re.ASCII,
)
ROOT_ARN_RE = re.compile(rf"^arn:{PARTITION_RE}:iam::(\d{{12}}):root$", re.ASCII)

# Template variables that may hold a path (slashes) and, for S3 keys, a wildcard.
# Names that may carry a path (IAM's PolicyNameWithPath, UserNameWithPath, ... all end so).
_PATH_VARIABLES = {"ObjectName", "KeyName"}
_WILDCARD_VARIABLES = {"ObjectName"}


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def arn_parse(value: str) -> Arn | None:
    """Split an ARN into its six parts, or None when it is not one."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        return None
    return Arn(*parts[1:])


@cache
def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for literal, variable in re.findall(r"([^$]*)(?:\$\{(\w+)\})?", template):
        pattern += re.escape(literal)
        if not variable:
            continue
        if variable == "Partition":
            pattern += PARTITION_RE
        elif variable == "Region":
            pattern += REGION_RE
        elif variable == "Account":
            pattern += r"[0-9]{12}"
        elif variable == "BucketName":
            pattern += BUCKET_RE
        elif variable in _WILDCARD_VARIABLES:
            pattern += r"[^\s]+"
        elif variable in _PATH_VARIABLES or variable.endswith("WithPath"):
            pattern += r"[\w+=,.@/-]+"
        else:
            pattern += r"[\w+=,.@-]+"
    return re.compile(f"^{pattern}$")


def arn_matches_template(arn: str, template: str) -> bool:
    return _template_regex(template).match(arn) is not None


def role_arn(*, account_id: str, role_name: str, path: str = "/", partition: str = "aws") -> str:
    """arn:PARTITION:iam::ACCOUNT:role/PATH/NAME. IAM is global: no region in the ARN."""
    return f"arn:{partition}:iam::{account_id}:role{path}{role_name}"


def account_root_arn(account_id: str, partition: str = "aws") -> str:
    """The account principal: every identity of the account that its own policies allow."""
    return f"arn:{partition}:iam::{account_id}:root"


def partition_of_arn(value: str) -> str:
    """The partition an ARN names ("aws" for anything that is not an ARN of a known partition)."""
    arn = arn_parse(value)
    return arn.partition if arn is not None and arn.partition in PARTITIONS else "aws"


def partition_of_region(region: str) -> str:
    """The partition a region belongs to: cn-* China, us-gov-* GovCloud, the rest commercial.
    https://docs.aws.amazon.com/general/latest/gr/rande.html"""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# Patterns (Resource elements of others' documents): what each template variable may hold, as
# loosely as AWS's own resource names go, so a pattern is refused only when it can never match.
# S3 bucket names are lower case, but buckets made in us-east-1 before March 2018 may hold upper
# case and underscores (legacy names):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_VARIABLE_CHARS = {
    "Partition": frozenset("abcdefghijklmnopqrstuvwxyz-"),
    "Region": frozenset("abcdefghijklmnopqrstuvwxyz0123456789-"),
    # Twelve digits, or "aws" for AWS-owned resources (arn:aws:iam::aws:policy/..., SageMaker's
    # public hub arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub).
    "Account": frozenset("0123456789aws"),
    "BucketName": frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-"),
}
_LEGACY_BUCKET_CHARS = _VARIABLE_CHARS["BucketName"] | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")

_STAR, _ONE = "*", "?"
# A template token: a literal character, a variable (one character or more of those allowed;
# None for any), "opt" (a variable that may be empty), or "any" (the Service Authorization
# Reference's own "*": anything, or nothing).
_Token = tuple[str, frozenset[str] | None]


@cache
def _template_tokens(template: str, legacy_buckets: bool) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    for literal, variable in re.findall(r"([^$]*)(?:\$\{(\w+)\})?", template):
        tokens += [("any", None) if c == "*" else ("lit", frozenset(c)) for c in literal]
        if variable:
            # Names and ids may hold anything, ":" too (an RDS snapshot "awsbackup:job-1").
            chars = _VARIABLE_CHARS.get(variable)
            if variable == "BucketName" and legacy_buckets:
                chars = _LEGACY_BUCKET_CHARS
            # AWS-owned resources leave the account empty (arn:aws:ssm:*::document/AWS-*), as
            # global ones do the region.
            tokens.append(("opt" if variable in ("Region", "Account") else "var", chars))
    return tuple(tokens)


def _pattern_tokens(pattern: str) -> tuple[str, ...]:
    """A Resource pattern: literal characters, "*" (any run) and "?" (any one). A policy
    variable (${aws:username}) is filled in at request time: it may be anything, like "*"."""
    pattern = re.sub(r"\$\{[^}]*\}", _STAR, pattern)
    return tuple(re.sub(r"\*+", _STAR, pattern))


# Matching walks pattern x template states; a document's linting spends at most a budget of them
# (the validate API takes others' documents: a long pattern of many "*" must not hold a worker).
PATTERN_STATES_PER_TEMPLATE = 20_000
_verdicts: dict[tuple[str, str, bool], bool] = {}
_VERDICTS_KEPT = 200_000


def arn_pattern_match(
    pattern: str, template: str, legacy_buckets: bool, budget: int = PATTERN_STATES_PER_TEMPLATE
) -> tuple[bool | None, int]:
    """Whether some ARN of the template's shape matches the pattern (IAM's wildcards `*` and
    `?`, which may span colons and slashes:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html),
    and the states it took. False only when the pattern can never match a resource of that type;
    None when `budget` states did not settle it. Settled answers are remembered."""
    key = (pattern, template, legacy_buckets)
    if key in _verdicts:
        return _verdicts[key], 0
    verdict, spent = _match(pattern, template, legacy_buckets, budget)
    if verdict is not None:
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.clear()
        _verdicts[key] = verdict
    return verdict, spent


def _match(
    pattern: str, template: str, legacy_buckets: bool, budget: int
) -> tuple[bool | None, int]:
    service = pattern.split(":", 3)[2:3]
    template_service = template.split(":", 3)[2:3]
    if (
        service
        and template_service
        and not set(service[0] + template_service[0]) & {_STAR, _ONE, "$"}
        and service != template_service
    ):
        return False, 1
    chars, tokens = _pattern_tokens(pattern), _template_tokens(template, legacy_buckets)
    # Walk both at once: (pattern position, template position, inside a variable).
    seen: set[tuple[int, int, bool]] = set()
    todo = [(0, 0, False)]
    while todo:
        if len(seen) >= budget:
            return None, len(seen)
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, inside = state
        if i == len(chars) and j == len(tokens):
            return True, len(seen)
        kind = tokens[j][0] if j < len(tokens) else ""
        if inside or kind in ("any", "opt"):  # a variable may end here
            todo.append((i, j + 1, False))
        if i < len(chars) and chars[i] == _STAR:
            todo.append((i + 1, j, inside))  # "*" matches nothing
            if kind:  # "*" takes the template's next character, and goes on
                todo.append((i, j, True) if kind != "lit" else (i, j + 1, False))
            continue
        if i == len(chars) or j == len(tokens):
            continue
        char, allowed = chars[i], tokens[j][1]
        if char != _ONE and allowed is not None and char not in allowed:
            continue
        todo.append((i + 1, j, True) if kind != "lit" else (i + 1, j + 1, False))
    return False, len(seen)
