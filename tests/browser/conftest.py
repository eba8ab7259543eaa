import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ARTIFACTS = Path(
    os.environ.get("EDN_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "data" / "artifacts")
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    return (
        os.environ.get("EDN_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture
def browser():
    """Playwright driving the system Chromium, headless (no browser download)."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        reason = "needs the system Chromium (apt-get install chromium) and playwright"
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but the browser test {reason}")
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API keeps an event loop on this thread; the ORM calls of the test
    # itself are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
