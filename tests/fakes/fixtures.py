"""pytest fixtures: the fake Supabase Auth server on 127.0.0.1, spec-checked.

``fake_supabase_server`` (session scope) serves :class:`FakeSupabaseAuth` behind a
:class:`ContractRecorder` with uvicorn in a background thread on a free port.
``fake_supabase`` (per test) resets its state and fails the test if any exchange of the
test broke the OpenAPI contract. Import both where they are used::

    from tests.fakes.fixtures import fake_supabase, fake_supabase_server  # noqa: F401
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from tests.fakes.spec import ContractRecorder
from tests.fakes.supabase_auth import FakeConfig, FakeSupabaseAuth


@dataclass
class FakeSupabase:
    """Handle on the running fake: its state, its contract recorder and its address."""

    auth: FakeSupabaseAuth
    recorder: ContractRecorder
    url: str

    def env(self, *, service_role: bool = True, jwt_secret: bool = True) -> dict[str, str]:
        """Settings (environment variables) pointing the app at this fake."""
        env = {"SUPABASE_URL": self.url, "SUPABASE_ANON_KEY": self.auth.anon_key}
        if service_role:
            env["SUPABASE_SERVICE_ROLE_KEY"] = self.auth.service_role_key
        if jwt_secret:
            env["SUPABASE_JWT_SECRET"] = self.auth.jwt_secret
        return env


@pytest.fixture(scope="session")
def fake_supabase_server() -> Iterator[FakeSupabase]:
    auth = FakeSupabaseAuth()
    recorder = ContractRecorder(auth.app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        recorder, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-supabase", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Supabase server did not start")
        time.sleep(0.01)
    auth.base_url = f"http://127.0.0.1:{port}"
    yield FakeSupabase(auth=auth, recorder=recorder, url=auth.base_url)
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def fake_supabase(fake_supabase_server: FakeSupabase) -> Iterator[FakeSupabase]:
    """The fake with fresh state; the test fails if the fake broke the OpenAPI contract."""
    fake_supabase_server.auth.reset(FakeConfig())
    fake_supabase_server.recorder.reset()
    yield fake_supabase_server
    violations = list(fake_supabase_server.recorder.violations)
    if violations:
        pytest.fail("fake Supabase answers broke the OpenAPI contract:\n" + "\n".join(violations))
