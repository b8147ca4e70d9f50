"""Where the CLI keeps its URL and token, and the rules that keep that token private.

The token is as good as the user's password for the API, so the file is created 0600 inside a
0700 directory, and a file that group or others can read is refused rather than used (as ssh
does with a private key).
"""

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A config file missing, unreadable, malformed or too open; the message is for users."""


@dataclass(frozen=True)
class Settings:
    url: str
    token: str


def config_path() -> Path:
    """$PORTAL_CLI_CONFIG, else ~/.config/portal-cli/config.json (honouring $XDG_CONFIG_HOME)."""
    explicit = os.environ.get("PORTAL_CLI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "portal-cli" / "config.json"


def config_read(path: Path) -> dict:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"not logged in: {path} does not exist; run `portal-cli login`") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o}) and "
            f"holds an API token; refusing to use it. Run `chmod 600 {path}` or log in again."
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(f"{path} belongs to another user; refusing to use it.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object; log in again.")
    return data


def private_dir(directory: Path) -> None:
    """Made with mode 0700 if missing. Calls started at once (the AWS CLI's credential_process)
    race to make it: the losers use the winner's."""
    try:
        directory.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return
    directory.chmod(0o700)  # mkdir's mode is filtered by the umask


def config_write(path: Path, data: dict) -> None:
    """Write atomically with mode 0600; a directory this creates gets mode 0700."""
    directory = path.parent
    private_dir(directory)
    temporary = directory / f".{path.name}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            json.dump(data, file, indent=2)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def config_remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def settings_load() -> Settings:
    """PORTAL_URL and PORTAL_TOKEN win over the file, so a CI job needs no file at all."""
    url = os.environ.get("PORTAL_URL", "")
    token = os.environ.get("PORTAL_TOKEN", "")
    if not (url and token):
        data = config_read(config_path())
        url = url or str(data.get("url") or "")
        token = token or str(data.get("token") or "")
    if not url:
        raise ConfigError("no portal URL: set PORTAL_URL or run `portal-cli login --url URL`")
    if not token:
        raise ConfigError("no API token: set PORTAL_TOKEN or run `portal-cli login`")
    return Settings(url=url, token=token)
