"""Debian's Chromium driven by Playwright, with axe-core run on every page a test visits.

`Browser.page()` opens a fresh context (its own cookies). `audit(page, name)` runs axe-core
(WCAG 2.0/2.1 A and AA rules) in the page, fails on any serious or critical violation, saves a
full-page screenshot to `docs/img/<name>.png` and records the result for `docs/img/axe-results.json`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright, sync_playwright

from tests.web.oidc import NODE_DIR

REPO = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = REPO / "docs" / "img"
AXE_SOURCE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

#: Flags for a headless Chromium on a machine without network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Debian's chromium is needed for the browser tests: apt-get install chromium")


class Browser:
    def __init__(self) -> None:
        self._manager: Any = None
        self._playwright: Playwright | None = None
        self.results: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> Browser:
        self._manager = sync_playwright()
        self._playwright = self._manager.__enter__()
        self.browser = self._playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.browser.close()
        self._manager.__exit__(*exc)
        if self.results:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            summary = SCREENSHOTS / "axe-results.json"
            previous = json.loads(summary.read_text()) if summary.exists() else {}
            previous.update(self.results)
            summary.write_text(json.dumps(dict(sorted(previous.items())), indent=2) + "\n")

    def page(self, viewport: dict[str, int] | None = None) -> Page:
        context = self.browser.new_context(
            ignore_https_errors=True,  # the development CA is not in Chromium's trust store
            viewport=viewport or DESKTOP,  # type: ignore[arg-type]
            locale="nl-NL",
            java_script_enabled=True,
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def audit(self, page: Page, name: str) -> dict[str, Any]:
        """axe-core on the page as it is now; no serious or critical violation allowed."""
        page.evaluate(AXE_SOURCE.read_text())
        result: dict[str, Any] = page.evaluate(
            """async () => {
                const r = await axe.run(document, {runOnly: {type: 'tag',
                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
                return {violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                    help: v.help, nodes: v.nodes.length,
                    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})),
                    passes: r.passes.length, incomplete: r.incomplete.length};
            }"""
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.results[name] = {
            "url_path": page.url.split("//", 1)[-1].split("/", 1)[-1].split("?")[0],
            "passes": result["passes"],
            "incomplete": result["incomplete"],
            "violations": [
                {"id": v["id"], "impact": v["impact"], "nodes": v["nodes"]} for v in result["violations"]
            ],
        }
        serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe: serious or critical violations on {name}: {json.dumps(serious, indent=1)}"
        return result
