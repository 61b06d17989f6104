"""A throwaway PostgreSQL server for the `postgres` tests: Debian's server binaries, a data folder
in a temporary directory, listening only on a unix socket there (no TCP port), stopped at the end.

A pytest plugin: a test module that needs it sets `pytest_plugins = ["tests.postgres_server"]` and
asks for `postgres_url`, a fresh empty database per test. Where the server cannot run (not
installed, no psycopg, root without a `postgres` user) the tests skip and say why; `make test`
installs the server where it can (`make postgres`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

SUPERUSER = "chatbot"  # the role initdb creates; the socket accepts it without a password (trust)
START_TIMEOUT_S = 60
_database_numbers = count(1)


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin
    (the Debian package does not put them on PATH), the newest version first."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _version_key(folder: str) -> tuple[int, ...]:
    version = Path(folder).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass
class PostgresServer:
    """A running server in `folder`, reachable through the unix socket in `folder`."""

    bin_dir: Path
    folder: Path
    user: pwd.struct_passwd | None  # the account to run the server as, when we are root (postgres refuses root)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def start(self) -> None:
        """initdb, then start the server and wait (pg_ctl -w) until it accepts connections."""
        self._run("initdb", "--pgdata", str(self.data_dir), "--username", SUPERUSER, "--auth", "trust",
                  "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync")
        # listen_addresses='' turns TCP off; the socket lives in our own folder, so the default
        # port number in its name cannot clash with another server's.
        options = f"-c listen_addresses='' -k {self.folder} -c fsync=off"
        self._run("pg_ctl", "start", "--pgdata", str(self.data_dir), "--log", str(self.log_file), "--wait",
                  "--timeout", str(START_TIMEOUT_S), "--options", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "fast", "--wait")

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for `database` over the socket, as a `support_log_url` or `orders_url`."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(_database_numbers)}"
        with psycopg.connect(host=str(self.folder), user=SUPERUSER, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([str(self.bin_dir / program), *args], check=True, capture_output=True, text=True,
                       cwd=self.folder, timeout=START_TIMEOUT_S + 30,
                       user=self.user and self.user.pw_uid, group=self.user and self.user.pw_gid,
                       extra_groups=[] if self.user else None)


def _server_user() -> pwd.struct_passwd | None:
    """None to run the server as ourselves; as root, the `postgres` account Debian's package makes."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and there is no `postgres` user to run it as: "
                    "run the tests as an ordinary user, or install Debian's postgresql package (it adds one).")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the whole session, in a temporary folder removed at the end."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: `make install` (it is in requirements-dev.txt).")
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
                    "`make postgres` installs it with apt-get where allowed.")
    user = _server_user()
    # Not pytest's tmp_path: its root is private to this user, and a server running as `postgres`
    # could not enter it. A short path also keeps the socket's name under the 107-byte limit.
    folder = Path(tempfile.mkdtemp(prefix="chatbot-pg-"))
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PostgresServer(bin_dir, folder, user)
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        output = getattr(exc, "stderr", "") or ""
        pytest.skip(f"Could not start PostgreSQL from {bin_dir} ({exc}):\n{output}\n{server.log_tail()}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.create_database()
