"""Argument parsing: what the CLI accepts and what it refuses before any network call."""

import pytest

from portal_cli.main import duration_seconds, parser_build

REQUEST = [
    "request",
    "--source",
    "111111111111",
    "--target",
    "999999999999",
    "--action",
    "dynamodb:GetItem",
    "--resource",
    "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable",
    "--duration",
    "3600",
    "--justification",
    "Read MyTable for the report",
]


def parse(*argv: str):
    return parser_build().parse_args(list(argv))


def test_request_defaults():
    args = parse(*REQUEST)

    assert args.actions == ["dynamodb:GetItem"]
    assert args.resources == ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"]
    assert args.duration == 3600
    assert args.access_via == "portal"
    assert args.mechanism == "auto"
    assert args.third_party is False
    assert args.principal is None
    assert args.ticket is None


def test_request_repeats_actions_and_resources_and_takes_every_option():
    args = parse(
        *REQUEST,
        "--action",
        "dynamodb:Query",
        "--resource",
        "arn:aws:dynamodb:eu-central-1:999999999999:table/Orders",
        "--principal",
        "arn:aws:iam::111111111111:role/reporting",
        "--access-via",
        "own_identity",
        "--mechanism",
        "resource_policy",
        "--ticket",
        "OPS-42",
        "--third-party",
    )

    assert args.actions == ["dynamodb:GetItem", "dynamodb:Query"]
    assert len(args.resources) == 2
    assert args.principal == "arn:aws:iam::111111111111:role/reporting"
    assert (args.access_via, args.mechanism, args.ticket) == (
        "own_identity",
        "resource_policy",
        "OPS-42",
    )
    assert args.third_party is True


@pytest.mark.parametrize(
    "text, seconds", [("3600", 3600), ("45s", 45), ("90m", 5400), ("8h", 28800), ("7d", 604800)]
)
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    "argv",
    [
        REQUEST[:-2],  # no justification
        [*REQUEST[:9], "--justification", "x"],  # no duration
        [*REQUEST, "--mechanism", "magic"],
        [*REQUEST, "--access-via", "telepathy"],
        [*REQUEST[:-4], "--duration", "an hour", "--justification", "x"],
        ["creds", "--grant", "7", "--format", "yaml"],
        ["creds", "--format", "process"],
        ["creds", "--grant", "0"],
        ["status", "seven"],
        ["reject", "3"],  # a reason is required
        ["login", "--url"],
        [],
    ],
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)

    assert exit_.value.code == 2
    assert "usage: portal-cli" in capsys.readouterr().err


def test_commands():
    assert parse("creds", "--grant", "7", "--format", "process").grant == 7
    assert parse("creds", "--grant", "7").format == "env"
    assert parse("approve", "12", "--comment", "ok").comment == "ok"
    assert parse("approve", "12").comment == ""
    assert parse("reject", "12", "--reason", "too broad").reason == "too broad"
    assert parse("status", "12", "--wait", "active").wait == "active"
    assert parse("login", "--url", "http://x", "-u", "alice", "--password-stdin").username == (
        "alice"
    )
