"""Open a page in a real headless Chromium, with the network cut off, and measure its plots."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MEASURE = """<pre id="keel-measure"></pre><script>
window.addEventListener('load', () => {
  const found = [...document.querySelectorAll('svg')].map(s => {
    const box = s.getBBox();
    return {marks: s.querySelectorAll('polyline,rect,circle,path,line').length,
            width: box.width, height: box.height};
  });
  document.getElementById('keel-measure').textContent = JSON.stringify(found);
});
</script>"""


def chromium() -> str:
    """The browser, or a skip (a failure under CI, which must provide it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Chromium (Debian package 'chromium')")
        pytest.skip("Chromium is not installed")
    return found


def drawn_plots(page: Path, tmp: Path) -> list[dict[str, float]]:
    """Every SVG of ``page`` as laid out by Chromium: its drawn marks and bounding box.

    A dead proxy stands in for the network, so a page that needed one would draw nothing.
    """
    probe = tmp / f"measured-{page.name}"
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = re.search(r'<pre id="keel-measure">([^<]*)</pre>', done.stdout)
    assert found is not None and found.group(1), done.stdout[-500:]
    measured: list[dict[str, float]] = json.loads(found.group(1))
    return measured
