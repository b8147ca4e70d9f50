import pytest

from tests.cli.stub import stub_start


@pytest.fixture
def cli_config(tmp_path, monkeypatch):
    """A private config path and session cache; no PORTAL_URL or PORTAL_TOKEN from the caller's
    shell."""
    path = tmp_path / "portal-cli" / "config.json"
    monkeypatch.setenv("PORTAL_CLI_CONFIG", str(path))
    monkeypatch.setenv("PORTAL_CLI_CACHE_DIR", str(tmp_path / "portal-cli-cache"))
    monkeypatch.delenv("PORTAL_URL", raising=False)
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    return path


@pytest.fixture
def api(cli_config, monkeypatch):
    """The stub API, with PORTAL_URL and PORTAL_TOKEN pointing the CLI at it."""
    stub, server = stub_start()
    monkeypatch.setenv("PORTAL_URL", stub.url)
    monkeypatch.setenv("PORTAL_TOKEN", "t0ken")
    yield stub
    server.shutdown()
    server.server_close()
