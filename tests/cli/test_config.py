"""The config file holds an API token: private on disk, refused when it is not."""

import os
import stat

import pytest

from portal_cli.config import ConfigError, config_path, config_read, config_write, settings_load
from portal_cli.main import main


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_file_is_0600_in_a_0700_directory(cli_config, loose_umask):
    config_write(cli_config, {"url": "http://127.0.0.1:8000", "token": "secret"})

    assert _mode(cli_config) == 0o600
    assert _mode(cli_config.parent) == 0o700
    assert config_read(cli_config) == {"url": "http://127.0.0.1:8000", "token": "secret"}
    assert [p.name for p in cli_config.parent.iterdir()] == ["config.json"]  # no temporary left


def test_rewriting_an_open_file_makes_it_private_again(cli_config, loose_umask):
    cli_config.parent.mkdir(mode=0o700)
    cli_config.write_text("{}")
    cli_config.chmod(0o644)

    config_write(cli_config, {"url": "http://127.0.0.1:8000", "token": "new"})

    assert _mode(cli_config) == 0o600


def test_an_existing_directory_keeps_its_mode(tmp_path, monkeypatch, loose_umask):
    """$PORTAL_CLI_CONFIG may point into a shared directory; the CLI must not chmod it."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    config_write(shared / "portal.json", {"token": "x"})

    assert _mode(shared) == 0o755
    assert _mode(shared / "portal.json") == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_readable_by_group_or_others_is_refused(cli_config, mode):
    config_write(cli_config, {"url": "http://127.0.0.1:8000", "token": "secret"})
    cli_config.chmod(mode)

    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*chmod 600"):
        config_read(cli_config)


def test_the_cli_refuses_a_0644_file_with_exit_2(cli_config, capsys):
    config_write(cli_config, {"url": "http://127.0.0.1:9", "token": "secret"})
    cli_config.chmod(0o644)

    assert main(["grants"]) == 2

    captured = capsys.readouterr()
    assert "refusing to use it" in captured.err
    assert "chmod 600" in captured.err
    assert captured.out == ""


def test_missing_file_says_to_log_in(cli_config, capsys):
    assert main(["status", "1"]) == 2
    assert "portal-cli login" in capsys.readouterr().err


def test_malformed_file_is_an_error_not_a_traceback(cli_config, capsys):
    cli_config.parent.mkdir(mode=0o700)
    cli_config.write_text("{not json")
    cli_config.chmod(0o600)

    assert main(["grants"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_default_path_is_under_the_users_config_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_CLI_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    assert config_path() == tmp_path / ".config" / "portal-cli" / "config.json"


def test_environment_needs_no_file(cli_config, monkeypatch):
    monkeypatch.setenv("PORTAL_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("PORTAL_TOKEN", "ci-token")

    settings = settings_load()

    assert (settings.url, settings.token) == ("http://127.0.0.1:8000", "ci-token")
    assert not cli_config.exists()


def test_environment_overrides_the_file(cli_config, monkeypatch):
    config_write(cli_config, {"url": "http://127.0.0.1:8000", "token": "stored"})
    monkeypatch.setenv("PORTAL_URL", "http://127.0.0.1:9000")

    assert settings_load().url == "http://127.0.0.1:9000"
    assert settings_load().token == "stored"

    monkeypatch.setenv("PORTAL_TOKEN", "from-env")
    assert settings_load().token == "from-env"
