"""The review page in a real browser (Debian's headless Chromium, driven by Playwright): open the queue with the
printed token, open an audited contact, fill the verdict form, submit, and find the verdict in the store."""

import shutil

import pytest

from cx_worker.governance.review_page import create_app, new_token
from tests.support.asgi import serving
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page_server(env):
    env.settings = env.settings.model_copy(update={"audit_sample": 3})
    run_night(env, FakeLLM(WORK), "r1")
    token = new_token()
    app = create_app(store=env.store, crm=env.crm, collection=env.collection, token=token)
    with serving(app, what="the review page") as url:
        yield url, token


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_reviewer_records_a_verdict_in_the_browser(env, page_server, tmp_path):
    base, token = page_server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        assert page.goto(f"{base}/").status == 403  # no token, no page
        page.goto(f"{base}/?token={token}")
        audits = page.locator("tr.audit-item")
        assert audits.count() == 3 and "Audit sample (3)" in page.content()
        first = audits.first.locator("a")
        iid = first.inner_text()
        first.click()
        assert page.locator("#transcript .turn").count() == len(env.store.contact(iid).redacted.turns)
        assert page.locator("#predicted").inner_text() == env.store.outcome(iid).label
        page.check("input[name=outcome][value=escalated]")
        page.check("input[name=summary][value=error]")
        page.check("input[name=errors][value=invented]")
        page.check("input[name=errors][value=misattributed]")
        page.fill("input[name=by]", "Dana (QA)")
        page.fill("input[name=reason]", "the refund in the summary never happened")
        page.click("#verdict button[type=submit]")
        assert "verdict of" in page.locator("#done").inner_text()  # back on the queue, with what was done
        assert page.locator("tr.audit-item").count() == 2
        page.screenshot(path=str(tmp_path / "queue.png"))
        browser.close()
    [item] = [a for a in env.store.audit_items() if a.interaction_id == iid]
    assert item.verdict.true_outcome == "escalated" and item.verdict.errors == ["invented", "misattributed"]
    assert item.verdict.decided_by == "Dana (QA)" and not item.verdict.summary_ok
    assert env.store.review_decisions(iid)[-1].decision == "verdict"  # the same audit trail as the CLI
