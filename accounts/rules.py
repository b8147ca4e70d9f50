"""Access rules (SPEC 10.2): validation, and which rules let a user ask for what.

A request is eligible when one rule covers its target account, every action and one of the
requester's groups, and its duration fits the rule's `max_duration`. Where several do, the least
approval wins (`auto` before `account`), and only a rule that covers every action counts. A
break-glass request needs a rule with `break_glass: true`; an ordinary one a rule without.
With no rule in the database the check is off: the portal behaves as it did before rules
(docs/access-rules.md says why).
"""

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User

from accounts.access_rules import AccessRule
from accounts.models import SESSION_SECONDS_MIN, Account
from policy.catalog import action_lookup, actions_of_service, service_known

ACCESS_LEVELS = ("Read", "List", "Write", "Permissions management", "Tagging")
# A grant longer than a year is no temporary access; STS's shortest session is 15 minutes.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (DurationSeconds)
RULE_SECONDS_MAX = 365 * 24 * 3600
_OU_RE = re.compile(r"^(ou-[0-9a-z]{2,32}(-[0-9a-z]{2,32})?|r-[0-9a-z]{2,32})$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FIELDS = (
    "name",
    "accounts",
    "requester_groups",
    "services",
    "access_levels",
    "max_duration",
    "approval",
    "break_glass",
)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _known_ous() -> set[str]:
    """The organization's roots and OUs as the accounts' paths name them."""
    paths = Account.objects.exclude(organization_path="").values_list(
        "organization_path", flat=True
    )
    return {level for path in paths for level in path.split("/")}


def _accounts_errors(accounts: Any) -> list[str]:
    if not _strings(accounts) or not accounts:
        return ['A list of account ids, OU ids or "*" (in YAML, quote account ids).']
    known = set(Account.objects.values_list("account_id", flat=True))
    ous = _known_ous()
    unknown = [a for a in accounts if a != "*" and a not in known and a not in ous]
    bad = [a for a in unknown if not (re.fullmatch(r"[0-9]{12}", a) or _OU_RE.match(a))]
    if bad:
        return [f'Neither an account id, an OU id nor "*": {", ".join(bad)}.']
    if unknown:
        return [f"Unknown to the portal: {', '.join(unknown)}."]
    return []


def _groups_errors(groups: Any) -> list[str]:
    if not _strings(groups) or not groups:
        return ["A list of group names."]
    # Compared here, not in SQL: a name with a NUL byte is simply unknown, never a database error.
    known = set(Group.objects.values_list("name", flat=True))
    unknown = [g for g in groups if g not in known]
    return [f"Unknown group: {', '.join(unknown)}."] if unknown else []


def _duration_errors(seconds: Any) -> list[str]:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return ["A number of seconds."]
    if seconds < SESSION_SECONDS_MIN:
        return ["At least 900 seconds (STS's shortest session is 15 minutes)."]
    if seconds > RULE_SECONDS_MAX:
        return [f"At most {RULE_SECONDS_MAX} seconds (a year)."]
    return []


def rule_errors(rule: Any) -> dict[str, list[str]]:
    """What is wrong with one rule, per field; {} when nothing is."""
    if not isinstance(rule, dict):
        return {"rule": ["A rule is a mapping of " + ", ".join(FIELDS) + "."]}
    errors: dict[str, list[str]] = {}
    extra = sorted(set(rule) - set(FIELDS))
    if extra:
        errors["rule"] = [f"Unknown field: {', '.join(map(str, extra))}."]
    name = rule.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        errors["name"] = ["Lower-case letters, digits, - and _, at most 64."]
    for key, check in (
        ("accounts", _accounts_errors),
        ("requester_groups", _groups_errors),
        ("max_duration", _duration_errors),
    ):
        problems = check(rule.get(key))
        if problems:
            errors[key] = problems
    services = rule.get("services", [])
    if not _strings(services):
        errors["services"] = ["A list of service prefixes."]
    elif unknown := [s for s in services if not service_known(s)]:
        errors["services"] = [f"Unknown service: {', '.join(unknown)}."]
    levels = rule.get("access_levels", [])
    if not _strings(levels):
        errors["access_levels"] = ["A list of access levels."]
    elif unknown := [level for level in levels if level not in ACCESS_LEVELS]:
        errors["access_levels"] = [
            f"Unknown access level: {', '.join(unknown)} (one of {', '.join(ACCESS_LEVELS)})."
        ]
    if rule.get("approval", "account") not in AccessRule.Approval.values:
        errors["approval"] = ['"auto" or "account".']
    if not isinstance(rule.get("break_glass", False), bool):
        errors["break_glass"] = ["true or false."]
    if rule.get("break_glass") and rule.get("approval") == AccessRule.Approval.AUTO:
        errors["approval"] = ['A break-glass rule is reviewed by the account: "account".']
    return errors


def rules_errors(rules: Any) -> dict[str, list[str]]:
    """What is wrong with a whole rule set, keyed `rules[i].field`; {} when nothing is."""
    if not isinstance(rules, list):
        return {"rules": ["A list of rules."]}
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        for key, messages in rule_errors(rule).items():
            errors[f"rules[{index}].{key}"] = messages
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str) and name in seen:
            errors.setdefault(f"rules[{index}].name", []).append(f"Two rules are named {name}.")
        seen.add(str(name))
    return errors


def rule_normalized(rule: dict[str, Any]) -> dict[str, Any]:
    """A checked rule with every field, defaults filled in, in the order of FIELDS."""
    return {
        "name": rule["name"],
        "accounts": list(rule["accounts"]),
        "requester_groups": list(rule["requester_groups"]),
        "services": [s.lower() for s in rule.get("services", [])],
        "access_levels": list(rule.get("access_levels", [])),
        "max_duration": rule["max_duration"],
        "approval": rule.get("approval", AccessRule.Approval.ACCOUNT),
        "break_glass": rule.get("break_glass", False),
    }


def _expanded(action: str) -> list[str]:
    """The catalog actions an action pattern names: itself, or what its wildcard matches."""
    if action == "*":
        return ["*"]
    prefix, _, name = action.partition(":")
    if "*" not in name and "?" not in name:
        return [action]
    return [a for a in actions_of_service(prefix) if fnmatch.fnmatchcase(a.lower(), action.lower())]


def rule_covers_action(rule: AccessRule, action: str) -> bool:
    """Whether the rule's services and access levels take this action (every action a
    wildcard names); a rule with neither takes any action."""
    if not rule.services and not rule.access_levels:
        return True
    names = _expanded(action)
    if not names or "*" in names:
        return False
    for name in names:
        found = action_lookup(name)
        if found is None:
            return False
        if rule.services and found.service not in rule.services:
            return False
        if rule.access_levels and found.access_level not in rule.access_levels:
            return False
    return True


def rule_covers_account(rule: AccessRule, account: Account) -> bool:
    """The account by its id, or by a root or OU above it. An account that left the organization
    keeps its last path (provisioning/organizations.py) but is under those OUs no more."""
    levels = account.organization_levels if account.left_organization_at is None else []
    return "*" in rule.accounts or bool({account.account_id, *levels} & set(rule.accounts))


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} h"


def rule_summary(rule: AccessRule) -> str:
    """One line: what the rule lets its groups ask for."""
    what = (
        " and ".join(
            part for part in (", ".join(rule.access_levels), ", ".join(rule.services)) if part
        )
        or "any action"
    )
    how = "break-glass" if rule.break_glass else rule.get_approval_display().lower()
    return f"{rule.name} ({what}, up to {_hours(rule.max_duration)}, {how})"


@dataclass
class Eligibility:
    """What the rules say about one request: the rule it goes under, or why none lets it."""

    checked: bool = True
    rule: AccessRule | None = None
    forbidden: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        return not self.forbidden and not self.errors


def eligibility(
    *,
    user: User,
    account: Account,
    actions: list[str],
    duration: int | None,
    break_glass: bool = False,
) -> Eligibility:
    """The rule this request would go under, or what no rule allows it (`forbidden` when no rule
    lets the user ask for anything in the account, else an error on `actions` or `duration`)."""
    rules = list(AccessRule.objects.all())
    if not rules:
        return Eligibility(checked=False)
    groups = set(user.groups.values_list("name", flat=True))
    kind = "break-glass access" if break_glass else "access"
    mine = [
        r
        for r in rules
        if r.break_glass == break_glass
        and rule_covers_account(r, account)
        and groups & set(r.requester_groups)
    ]
    if not mine:
        in_groups = f"in {', '.join(sorted(groups))}" if groups else "in no requester group"
        return Eligibility(
            forbidden=f"No access rule lets {user.get_username()} ({in_groups}) ask for {kind} "
            f"to {account}."
        )
    covering = [r for r in mine if all(rule_covers_action(r, a) for a in actions)]
    if not covering:
        uncovered = [a for a in actions if not any(rule_covers_action(r, a) for r in mine)]
        named = ", ".join(uncovered) if uncovered else "these actions together"
        return Eligibility(
            errors={
                "actions": [
                    f"No rule lets you ask for {named} in {account}; rules for you there: "
                    + "; ".join(rule_summary(r) for r in mine)
                    + "."
                ]
            }
        )
    fitting = [r for r in covering if duration is None or duration <= r.max_duration]
    if not fitting:
        longest = max(covering, key=lambda r: r.max_duration)
        return Eligibility(
            errors={
                "duration": [
                    f"No rule lets you ask for this in {account} for that long: at most "
                    f"{_hours(longest.max_duration)} ({longest.name})."
                ]
            }
        )
    order: dict[str, int] = {AccessRule.Approval.AUTO: 0, AccessRule.Approval.ACCOUNT: 1}
    chosen = min(fitting, key=lambda r: (order[r.approval], r.name))
    return Eligibility(rule=chosen)
