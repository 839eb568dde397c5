"""One explorer page open in headless Chromium (Debian's, driven by Playwright), for the tests
of every page classsim writes (results, comparisons): what the pointer reports, its console, the
requests it made. The ``browser`` fixture is in conftest.py."""

from __future__ import annotations

import shutil
from io import BytesIO
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Page:
    """One open explorer page, its console and the requests it made."""

    def __init__(self, browser, path: Path, hash_: str = ""):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console", lambda m: m.type in ("error", "warning") and self.problems.append(m.text)
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", lambda d: self.problems.append(f"dialog: {d.message}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto((path / "explorer.html").resolve().as_uri() + hash_)
        self.page.evaluate("window.classsimExplorer.ready")

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def hover(self, row: int, col: int) -> dict:
        """Move the pointer to cell (row, col) of the current order; what the panel reports."""
        at = self.js("([r, c]) => window.classsimExplorer.cellCentre(r, c)", [row, col])
        self.page.mouse.move(at["x"], at["y"])
        return self.js(
            """() => {
              const body = document.getElementById("hover-body");
              const values = {};
              for (const tr of body.querySelectorAll("tr[data-transform]")) {
                values[tr.dataset.transform] = [Number(tr.dataset.value), tr.cells[1].textContent];
              }
              return {row: Number(body.dataset.row), col: Number(body.dataset.col),
                      text: body.textContent, values};
            }"""
        )

    def url_shows(self, part: str) -> None:
        """Wait until the URL fragment holds ``part`` (the page writes it at most every 200 ms)."""
        self.page.wait_for_function(
            "(part) => location.hash.includes(part)", arg=part, timeout=5000
        )

    def pixel(self, x: float, y: float) -> list[int]:
        """The RGB of the screen pixel at client coordinates (x, y)."""
        from matplotlib.image import imread

        png = self.page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})
        return np.round(imread(BytesIO(png), format="png")[0, 0, :3] * 255).astype(int).tolist()

    def state(self) -> dict:
        return self.js("() => JSON.parse(JSON.stringify(window.classsimExplorer.state))")

    def close(self):
        self.page.close()
