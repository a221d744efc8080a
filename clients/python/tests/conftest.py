"""Runs the real Parley server (its own private PostgreSQL in a temporary directory)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from parley_client import AuthenticatedClient, Client
from parley_client.api.sessions import create_session
from parley_client.api.users import create_user
from parley_client.models import Credentials, Session

REPO = Path(__file__).resolve().parents[3]  # tests/ -> python/ -> clients/ -> the repository
BINARY = REPO / "target/debug/parley"
PASSWORD = "correct horse battery staple"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")


class Server:
    """One `parley` process; `url` is known once it has logged that it is listening."""

    def __init__(self, *args: str, listen: str = "127.0.0.1:0") -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env = {k: v for k, v in env.items() if not k.startswith("PARLEY_")}
        self.process = subprocess.Popen(
            [str(BINARY), "--listen", listen, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        self.output: list[str] = []
        for line in self.process.stdout:
            self.output.append(line)
            if match := _LISTENING.search(line):
                self.url, self.port = match.group(1), int(match.group(2))
                break
        else:
            self.process.wait()
            raise RuntimeError("parley exited before listening:\n" + "".join(self.output))
        # Keep reading its log, or it would block once the pipe is full.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@dataclass
class ParleyServer:
    server: Server
    data_dir: str

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Account:
    username: str
    token: str
    client: AuthenticatedClient


@pytest.fixture(scope="session")
def parley() -> Iterator[ParleyServer]:
    if not BINARY.exists():
        subprocess.run(["cargo", "build", "--bin", "parley"], cwd=REPO, check=True)
    data_dir = tempfile.mkdtemp(prefix="parley-py-")
    os.chmod(data_dir, 0o755)  # PostgreSQL runs as `postgres` when the tests run as root
    # Every test signs up a user of its own, all from one address: more than the
    # per-address registration limit allows, which the server's own tests cover. A short
    # presence grace period makes a closed stream's leave come soon (tests/test_presence.py).
    server = Server(
        "--data-dir", data_dir, "--registrations-per-minute", "0", "--presence-grace", "1s"
    )
    try:
        yield ParleyServer(server, data_dir)
    finally:
        assert server.stop() == 0, "".join(server.output)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def base_url(parley: ParleyServer) -> str:
    return parley.url


@pytest.fixture
def anonymous(base_url: str) -> Client:
    # Every client in the tests raises on a status the spec does not document.
    return Client(base_url, raise_on_unexpected_status=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def sign_up(base_url: str) -> Account:
    """Register a fresh user and log in."""
    client = Client(base_url, raise_on_unexpected_status=True)
    credentials = Credentials(unique("user"), PASSWORD)
    assert create_user.sync_detailed(client=client, body=credentials).status_code == 201
    session = create_session.sync(client=client, body=credentials)
    assert isinstance(session, Session)
    authed = AuthenticatedClient(base_url, token=session.token, raise_on_unexpected_status=True)
    return Account(credentials.username, session.token, authed)


@pytest.fixture
def user(base_url: str) -> Account:
    return sign_up(base_url)
