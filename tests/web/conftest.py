"""Browser tests: Debian's Chromium driven by pytest-playwright against a live server on a free port.

Without Chromium they skip, unless RISKDESK_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riskdesk.bootstrap import Container
from riskdesk.demo.service import DEMO_PASSWORD, load
from tests.conftest import free_port, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE_BROWSER = os.environ.get("RISKDESK_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if CHROMIUM is None:
        if REQUIRE_BROWSER:
            pytest.fail("chromium is not installed (apt-get install chromium) and RISKDESK_REQUIRE_BROWSER=1")
        pytest.skip("chromium is not installed; apt-get install chromium to run the browser tests")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1360, "height": 860}, "locale": "zh-CN"}


@pytest.fixture(scope="session")
def live_container(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Container]:
    """The live server's container: a small seeded portfolio and the demo users (tests may add data through it)."""
    from riskdesk.db.session import unit_of_work

    path = tmp_path_factory.mktemp("live") / "live.db"
    shutil.copyfile(sqlite_template, path)
    # Its own data folder: the demo's model goes there, never into the checkout's var/.
    container = Container(settings=make_settings(f"sqlite:///{path}", data_dir=path.parent))
    with unit_of_work(container.session_factory) as session:
        load(session, container=container, seed=3, companies=60, individuals=20)
    yield container
    container.dispose()


@pytest.fixture(scope="session")
def live_server(live_container: Container) -> Iterator[str]:
    """The desk served by uvicorn in a thread."""
    import uvicorn

    from riskdesk.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(live_container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def demo_password() -> str:
    return DEMO_PASSWORD
