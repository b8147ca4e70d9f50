"""`manage.py onboarding_template`: the member accounts' CloudFormation template, on stdout."""

from typing import Any

from django.core.management.base import BaseCommand

from aws.member_template import member_template_yaml


class Command(BaseCommand):
    help = (
        "Print the CloudFormation template (YAML) every member account runs, for a "
        "service-managed StackSet over the organization."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(member_template_yaml(), ending="")
