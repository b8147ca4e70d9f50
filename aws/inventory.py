"""What a managed account holds that the portal can grant access to: DynamoDB tables, S3 buckets,
SQS queues, SNS topics, KMS keys and Secrets Manager secrets, listed through its provisioner role.

ARN formats: https://docs.aws.amazon.com/service-authorization/latest/reference/ (each service's
"Resource types defined by ..." table), e.g. `arn:aws:dynamodb:region:account:table/Name`,
`arn:aws:s3:::bucket`, `arn:aws:sqs:region:account:name`, `arn:aws:kms:region:account:key/id`.
"""

from dataclasses import dataclass

from aws.core import Credentials, client_for, pages, translate_error
from policy.arns import partition_of_region

# Keys AWS services create and manage for themselves: nobody grants access to those.
_AWS_MANAGED_ALIAS = "alias/aws/"


@dataclass(frozen=True)
class InventoryItem:
    kind: str  # accounts.models.Resource.Kind values
    arn: str
    name: str
    region: str


def _tables(credentials: Credentials, account_id: str, region: str) -> list[InventoryItem]:
    dynamodb = client_for("dynamodb", credentials, region)
    return [
        InventoryItem(
            "dynamodb_table",
            f"arn:{partition_of_region(region)}:dynamodb:{region}:{account_id}:table/{name}",
            name,
            region,
        )
        for name in pages(dynamodb, "list_tables", "TableNames")
    ]


def _buckets(credentials: Credentials) -> list[InventoryItem]:
    """Every bucket the account owns, in any region (S3 ARNs name neither region nor account)."""
    s3 = client_for("s3", credentials)
    items = []
    # Paginated: an account over the default bucket quota gets only paginated answers.
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
    for bucket in pages(s3, "list_buckets", "Buckets", PaginationConfig={"PageSize": 1000}):
        name = bucket["Name"]
        region = bucket.get("BucketRegion") or (
            s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        )
        arn = f"arn:{partition_of_region(region)}:s3:::{name}"
        items.append(InventoryItem("s3_bucket", arn, name, region))
    return items


def _queues(credentials: Credentials, account_id: str, region: str) -> list[InventoryItem]:
    sqs = client_for("sqs", credentials, region)
    items = []
    for url in pages(sqs, "list_queues", "QueueUrls", MaxResults=1000):
        name = url.rstrip("/").rsplit("/", 1)[-1]
        items.append(
            InventoryItem(
                "sqs_queue",
                f"arn:{partition_of_region(region)}:sqs:{region}:{account_id}:{name}",
                name,
                region,
            )
        )
    return items


def _topics(credentials: Credentials, region: str) -> list[InventoryItem]:
    sns = client_for("sns", credentials, region)
    return [
        InventoryItem("sns_topic", topic["TopicArn"], topic["TopicArn"].rsplit(":", 1)[-1], region)
        for topic in pages(sns, "list_topics", "Topics")
    ]


def _keys(credentials: Credentials, region: str) -> list[InventoryItem]:
    """Customer managed keys, named by their first alias (keys have no names of their own)."""
    kms = client_for("kms", credentials, region)
    aliases: dict[str, list[str]] = {}
    for alias in pages(kms, "list_aliases", "Aliases"):
        if alias.get("TargetKeyId"):
            aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    items = []
    for key in pages(kms, "list_keys", "Keys"):
        names = sorted(aliases.get(key["KeyId"], []))
        if any(name.startswith(_AWS_MANAGED_ALIAS) for name in names):
            continue
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata.get("KeyManager") == "AWS" or metadata.get("KeyState") in (
            "PendingDeletion",
            "PendingReplicaDeletion",
        ):
            continue
        items.append(
            InventoryItem("kms_key", key["KeyArn"], names[0] if names else key["KeyId"], region)
        )
    return items


def _secrets(credentials: Credentials, region: str) -> list[InventoryItem]:
    secrets = client_for("secretsmanager", credentials, region)
    return [
        InventoryItem("secret", secret["ARN"], secret["Name"], region)
        for secret in pages(secrets, "list_secrets", "SecretList")
        if not secret.get("DeletedDate")
    ]


def account_inventory(
    credentials: Credentials, *, account_id: str, regions: list[str]
) -> list[InventoryItem]:
    """Every resource of the six kinds in these regions (buckets wherever they are), sorted by
    ARN. Any refusal or outage raises AwsError: a partial list would look like deletions."""
    doing = f"listing the resources of {account_id}"
    try:
        items = _buckets(credentials)
        for region in regions:
            items += _tables(credentials, account_id, region)
            items += _queues(credentials, account_id, region)
            items += _topics(credentials, region)
            items += _keys(credentials, region)
            items += _secrets(credentials, region)
    except Exception as error:
        raise translate_error(error, doing) from error
    return sorted({item.arn: item for item in items}.values(), key=lambda item: item.arn)
