"""A real Label Studio server for the review integration tests (the full tier: ``pytest --full``).

The server lives in its own virtual environment, ``.labelstudio-venv``, which ``bash scripts/labelstudio.sh``
installs (about 1 GB, 2 minutes; the README's test command and ``.ci/run`` run it first). The tests never install
it themselves: without it they are skipped with that instruction, and fail under CI (``CI=true``). Every test that
uses the server is marked ``labelstudio``. The server starts once per test module, bound to 127.0.0.1 on a free
port with a fresh data folder (the first start runs the database migrations: about a minute), and is stopped when
the module's tests are done (so that it does not run beside the timing tests).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".labelstudio-venv"
INSTALL_SCRIPT = ROOT / "scripts" / "labelstudio.sh"
START_TIMEOUT_S = float(os.environ.get("LABEL_STUDIO_START_TIMEOUT", "300"))


@dataclass
class LabelStudioServer:
    url: str
    api_key: str
    username: str
    data_dir: Path
    log: Path


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return "<no log>"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "labelstudio" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.labelstudio)


@pytest.fixture(scope="session")
def labelstudio_executable() -> Path:
    """The ``label-studio`` command of .labelstudio-venv (installed by scripts/labelstudio.sh, never here)."""
    exe = VENV / "bin" / "label-studio"
    if not exe.exists():
        message = f"Label Studio is not installed in {VENV}: run 'bash {INSTALL_SCRIPT.relative_to(ROOT)}' first"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return exe


@pytest.fixture(scope="module")
def labelstudio(labelstudio_executable: Path, tmp_path_factory: pytest.TempPathFactory):
    """A running Label Studio server (loopback, free port, fresh data) with one admin user and a legacy token."""
    data = tmp_path_factory.mktemp("labelstudio")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    token = secrets.token_hex(20)
    username = "admin@review.test"
    # the server is another program with its own venv: none of this project's LABEL_STUDIO_* settings, and no
    # PYTHONPATH (a checkout on it puts this project's `rules` package in front of django-rules)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_") and k != "PYTHONPATH"}
    env.update({
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(16),
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
        "LATEST_VERSION_CHECK": "false",
    })
    log = data / "server.log"
    started = time.monotonic()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [str(labelstudio_executable), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data)],
            cwd=data, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        while not _healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited with {proc.returncode} while starting; log {log}:\n{_tail(log)}")
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"Label Studio did not answer {url}/health within {START_TIMEOUT_S:.0f} s; log {log}:\n"
                            f"{_tail(log)}")
            time.sleep(1)
        print(f"\nLabel Studio up at {url} after {time.monotonic() - started:.0f} s")
        yield LabelStudioServer(url, token, username, data, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
