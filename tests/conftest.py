"""What several test files share: a headless Chromium driven by Playwright (the serve page and MLflow's UI)."""
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PICABOO_CHROMIUM", "/usr/bin/chromium"))  # another Chromium or Chrome: set this
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    "Headless Chromium, driven by Playwright; skipped where either is missing."
    if not CHROMIUM.exists():
        pytest.skip(f"the browser test needs Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
                    "or set PICABOO_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs `pip install playwright`")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
