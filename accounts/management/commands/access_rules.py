"""`manage.py access_rules export FILE` and `manage.py access_rules apply FILE`: the access rules
as a YAML file kept in version control and reviewed like code (docs/access-rules.md). `-` is
standard output or input. Apply replaces the whole set, checked whole first: a file with any error
changes nothing. Export then apply gives the same rules."""

import sys
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.rule_changes import access_rules_list, access_rules_replace
from core.errors import ServiceError

HEADER = (
    "# Access rules of the access portal (docs/access-rules.md).\n"
    "# Apply with: manage.py access_rules apply FILE (replaces every rule).\n"
)


def rules_yaml(rules: list[dict[str, Any]]) -> str:
    """The rules as the file holds them: one mapping `rules:` with a list, fields in order."""
    return HEADER + yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True)


def rules_from_yaml(text: str) -> Any:
    """The rule list a file holds (what is not a list is left for the checks to name)."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CommandError(f"Not YAML: {error}") from error
    return loaded.get("rules") if isinstance(loaded, dict) else loaded


class Command(BaseCommand):
    help = "Export the access rules to a YAML file, or apply one (replacing every rule)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "apply"])
        parser.add_argument("file", help="The YAML file; - for standard output or input.")

    def handle(self, *args: Any, action: str, file: str, **options: Any) -> None:
        if action == "export":
            text = rules_yaml(access_rules_list())
            if file == "-":
                self.stdout.write(text, ending="")
            else:
                Path(file).write_text(text, encoding="utf-8")
                self.stdout.write(f"Exported {len(access_rules_list())} rules to {file}.")
            return
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        try:
            after = access_rules_replace(rules_from_yaml(text), actor=None)
        except ServiceError as error:
            lines = [
                f"  {name}: {' '.join(messages)}" for name, messages in error.field_errors.items()
            ]
            raise CommandError("\n".join([error.message, *lines])) from error
        self.stdout.write(self.style.SUCCESS(f"Applied {len(after)} access rules."))
