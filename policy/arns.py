"""ARNs: parsing, the shapes AWS accepts, and matching against catalog ARN templates.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

import re
from dataclasses import dataclass
from functools import cache

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
REGION_RE = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# Bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_RE = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# The partitions whose accounts the portal manages: commercial, China, GovCloud (US).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html (partition)
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
PARTITION_RE = r"aws(?:-cn|-us-gov)?"
ROLE_ARN_RE = re.compile(
    rf"^arn:{PARTITION_RE}:iam::(\d{{12}}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{{1,64}})$"
)
ROOT_ARN_RE = re.compile(rf"^arn:{PARTITION_RE}:iam::(\d{{12}}):root$")

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
            pattern += r"\d{12}"
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
