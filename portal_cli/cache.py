"""The session cache of `portal-cli creds`, as Granted and Weep keep one: a loop of AWS CLI
calls through `credential_process` starts a new `portal-cli` each time, and without a cache each
would vend a new session (and meet the portal's rate limit on sessions).

A cached session is reused until five minutes before it expires. Files are per portal URL, per
API token (so per user) and per grant; they hold secrets, so each is written 0600 inside a 0700
directory, and one that group or others can read, or that another user owns, is never used. The
AWS CLI keeps its own assumed-role sessions the same way (~/.aws/cli/cache).
"""

import contextlib
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal_cli.config import private_dir

# Reused until this long before it expires: time for the call that takes it to finish.
REFRESH_BEFORE = timedelta(minutes=5)

try:
    import fcntl
except ImportError:  # Windows: no lock; concurrent first calls may each vend a session
    fcntl = None  # type: ignore[assignment]


def cache_dir() -> Path:
    """$PORTAL_CLI_CACHE_DIR, else the user's cache directory ($XDG_CACHE_HOME, ~/.cache)."""
    explicit = os.environ.get("PORTAL_CLI_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "portal-cli" / "sessions"


def cache_path(*, url: str, token: str, grant: int) -> Path:
    """One file per portal, token and grant; the name gives none of them away."""
    key = hashlib.sha256(f"{url}\n{token}\n{grant}".encode()).hexdigest()[:40]
    return cache_dir() / f"grant-{grant}-{key}.json"


def _private_dir(directory: Path) -> None:
    """Make the directory 0700, or check that the one there is ours and private: in a directory
    others may write (a shared PORTAL_CLI_CACHE_DIR), they could swap our files for symlinks.
    OSError otherwise: the cache is then not used."""
    private_dir(directory)
    if not hasattr(os, "getuid"):
        return  # Windows: no POSIX owner or mode to check
    info = directory.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OSError(f"{directory} is not a private directory of yours (mode 0700)")


def _expiration(credentials: dict) -> datetime | None:
    text = credentials.get("Expiration")
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cache_read(path: Path, *, now: datetime | None = None) -> dict | None:
    """The cached session if it is ours, private and good for more than five minutes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None  # too open: never used; the next write replaces it
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    try:
        credentials = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(credentials, dict):
        return None
    expires = _expiration(credentials)
    if expires is None or expires - REFRESH_BEFORE <= (now or datetime.now(UTC)):
        return None
    return credentials


def cache_write(path: Path, credentials: dict) -> None:
    """Atomically, mode 0600, replacing whatever was there."""
    _private_dir(path.parent)
    temporary = path.parent / f".{path.name}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            json.dump(credentials, file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def cache_lock(path: Path) -> int | None:
    """Taken while one `portal-cli creds` looks in the cache and vends: AWS CLI calls started at
    once wait for the first one's session instead of each vending their own. Give what it returns
    to cache_unlock. OSError when the cache directory cannot be made or written."""
    _private_dir(path.parent)
    if fcntl is None:
        return None
    # Never through a symlink: the lock file is opened for writing, and created if missing.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path.with_suffix(".lock"), flags, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def cache_unlock(descriptor: int | None) -> None:
    if descriptor is not None:
        os.close(descriptor)  # closing releases the lock


def cache_clear() -> int:
    """Remove every cached session (logout does): how many there were."""
    directory = cache_dir()
    removed = 0
    if not directory.is_dir():
        return 0
    for entry in directory.glob("grant-*"):
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            removed += entry.suffix == ".json"
    return removed
