"""The one way tests make a standard request: alice (dev, 111111111111) asks to read the article's
MyTable in data (999999999999) for an hour. Tests change only what they are about."""

from access_requests.models import AccessRequest
from access_requests.services import access_request_submit

TABLE_ARN = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


def submitted(demo, **overrides) -> AccessRequest:
    """alice's request for dynamodb:GetItem on MyTable, submitted; `overrides` replace any field
    of `access_request_submit`."""
    fields = {
        "requester": demo.alice,
        "source_account": demo.dev,
        "target_account": demo.data,
        "actions": ["dynamodb:GetItem"],
        "resources": [TABLE_ARN],
        "duration": 3600,
        "justification": "Read MyTable for the report",
    }
    return access_request_submit(**(fields | overrides))
