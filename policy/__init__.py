"""Pure policy code: ARNs, the IAM action catalog and request validation. No Django, no boto3."""
