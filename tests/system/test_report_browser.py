"""The governance report as a governance lead sees it: rendered by headless Chromium (Debian's `chromium`)."""

import re
import shutil
import subprocess

import pytest

from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night
from tests.unit.test_governance import BAD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(env, tmp_path):
    run_night(env, FakeLLM(WORK), "r1", limit=2)
    night = run_night(env, FakeLLM(WORK, summary_for=lambda t: BAD), "r2")
    url = night.paths["html"].resolve().as_uri()
    profile = [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *FLAGS, *profile, "--dump-dom", url], capture_output=True, text=True,
                         timeout=90).stdout
    # What the browser rendered, not what we wrote: the DOM after parsing.
    assert "Verdict: <strong>BREACH</strong>" in dom
    assert dom.count('class="metric"') == len(night.report.results)
    assert "<svg" in dom and "<circle" in dom  # trend charts drawn inline
    assert "$480" in dom.split('id="worst"', 1)[1]
    assert not re.search(r'(src|href)\s*=\s*"?(https?:)?//', dom)  # self-contained: no CDN, no external asset
    assert "<script" not in dom and "<link" not in dom
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *FLAGS, *profile, f"--screenshot={shot}", "--window-size=1200,1600", url],
                   capture_output=True, timeout=90)
    assert shot.exists() and shot.stat().st_size > 20_000  # a page with content, not a blank one
