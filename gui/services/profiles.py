"""Connection profiles: settings in SQLite (sqlite-utils) in the user's data directory, secrets in
the OS keyring and nowhere else. Without a usable keyring backend, saving a secret fails with a
message that says so; there is deliberately no plaintext fallback."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, fields
from pathlib import Path

from .settings import ConnectionSettings

KEYRING_SERVICE = "partita"
ENV_DATA_DIR = "PARTITA_DATA_DIR"


class NoKeyringError(RuntimeError):
    pass


def data_dir() -> Path:
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("partita", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def keyring_problem() -> str | None:
    """None if secrets can be stored, else a sentence telling the operator what to do."""
    import keyring
    from keyring.backends import chainer, fail

    kr = keyring.get_keyring()
    if isinstance(kr, fail.Keyring) or (isinstance(kr, chainer.ChainerBackend) and not kr.backends):
        return (
            "No OS keyring is available, so Partita cannot store passwords or key passphrases "
            "(it never writes them to a file). Install and unlock one (GNOME Keyring or KWallet "
            "through Secret Service, macOS Keychain, Windows Credential Locker), or leave the "
            "secret empty and type it at each connect."
        )
    return None


class ProfileStore:
    PUBLIC_FIELDS = tuple(f.name for f in fields(ConnectionSettings) if f.name not in ConnectionSettings.SECRET_FIELDS)

    def __init__(self, path: Path | None = None) -> None:
        # nothing touches the disk until the first operation, which runs on a worker thread
        self._path = path
        self._ready = False

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = data_dir() / "partita.db"
        return self._path

    @contextlib.contextmanager
    def _db(self):
        """A connection per operation: the store is used from worker threads, and SQLite
        connections belong to the thread that opened them."""
        import sqlite_utils

        db = sqlite_utils.Database(self.path)
        try:
            if not self._ready:
                if "profiles" not in db.table_names():
                    db["profiles"].create({f: str for f in self.PUBLIC_FIELDS}, pk="name")
                self._ready = True
            yield db
        finally:
            db.close()

    def names(self) -> list[str]:
        with self._db() as db:
            return [r["name"] for r in db["profiles"].rows_where(order_by="name")]

    def save(self, settings: ConnectionSettings) -> None:
        if not settings.name:
            raise ValueError("a profile needs a name")
        settings.validate()
        secrets = {k: getattr(settings, k) for k in ConnectionSettings.SECRET_FIELDS}
        if any(secrets.values()):
            problem = keyring_problem()
            if problem:
                raise NoKeyringError(problem)
        import keyring

        for k, v in secrets.items():
            account = f"{settings.name}:{k}"
            if v:
                keyring.set_password(KEYRING_SERVICE, account, v)
            else:
                try:
                    keyring.delete_password(KEYRING_SERVICE, account)
                except Exception:
                    pass
        row = {k: v for k, v in asdict(settings.without_secrets()).items() if k in self.PUBLIC_FIELDS}
        with self._db() as db:
            db["profiles"].upsert(row, pk="name")

    def load(self, name: str, with_secrets: bool = True) -> ConnectionSettings:
        import sqlite_utils

        try:
            with self._db() as db:
                row = db["profiles"].get(name)
        except sqlite_utils.db.NotFoundError:
            raise KeyError(f"no profile named {name!r}") from None
        values = {k: (row.get(k) or "") for k in self.PUBLIC_FIELDS}
        if with_secrets:
            import keyring

            for k in ConnectionSettings.SECRET_FIELDS:
                try:
                    values[k] = keyring.get_password(KEYRING_SERVICE, f"{name}:{k}") or ""
                except Exception:
                    values[k] = ""
        return ConnectionSettings(**values)

    def delete(self, name: str) -> None:
        import keyring

        with self._db() as db:
            db["profiles"].delete_where("name = ?", [name])
        for k in ConnectionSettings.SECRET_FIELDS:
            try:
                keyring.delete_password(KEYRING_SERVICE, f"{name}:{k}")
            except Exception:
                pass
