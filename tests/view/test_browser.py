"""The site in a real browser: Debian's Chromium, headless, driven by Playwright's Python package.

Playwright's own browser download cannot work offline, so the tests point ``executable_path`` at the
system Chromium (``.ci/run`` installs Debian's ``chromium``) and skip, saying why, only where it is
missing. ``PROBE_VIEW_SCREENSHOTS=docs/view`` also saves the README's screenshots of the three page kinds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from probe.view import build_site, serve
from probe.view.trials import trial_id

from .conftest import HOSTILE

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not found (apt-get install chromium; .ci/run installs it when missing)")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=exe, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900})
        context.outside = []  # any request that leaves the machine is refused and recorded

        def guard(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1:", "file://")):
                route.continue_()
            else:
                context.outside.append(url)
                route.abort()

        context.route("**/*", guard)
        yield context
        assert not context.outside, f"the site reached outside: {context.outside}"
        context.close()


@pytest.fixture(scope="module")
def site(runs_root, tmp_path_factory) -> Path:
    return build_site(runs_root, tmp_path_factory.mktemp("site") / "site").out


@pytest.fixture
def page(browser):
    pg = browser.new_page()
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"page error: {e}"))
    pg.on("dialog", lambda d: (pg.problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    yield pg
    pg.close()


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def shot(page, name: str) -> None:
    folder = os.environ.get("PROBE_VIEW_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def visible_rows(page, table: str) -> list:
    return [r for r in page.locator(f"#{table} tbody tr").all() if r.is_visible()]


def test_index_lists_runs_and_sorts_and_filters(page, site):
    visit(page, (site / "index.html").as_uri())
    rels = page.locator("#runs tbody tr td:first-child").all_inner_texts()
    assert sorted(rels) == sorted(["sweep1", "bell-chat", "bell-exact", "bell-sim", "stories", "sweep1/cell-0",
                                   "sweep1/cell-1"])
    shot(page, "index")
    header = page.locator("#runs thead th", has_text="main estimate")
    column = [h.strip() for h in page.locator("#runs thead th").all_inner_texts()].index("main estimate")

    def values() -> list[str]:
        return [r.locator("td").nth(column).get_attribute("data-sort") for r in visible_rows(page, "runs")]

    header.click()
    ascending = values()
    numbers = [float(v) for v in ascending if v]
    assert numbers == sorted(numbers) and len(numbers) >= 5
    assert all(not v for v in ascending[len(numbers):])  # runs without an estimate last
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    numbers_desc = [float(v) for v in values() if v]
    assert numbers_desc == sorted(numbers, reverse=True)
    page.select_option("select[data-filter='experiment'][data-table='runs']", "words-generate")
    assert [r.locator("td").first.inner_text() for r in visible_rows(page, "runs")] == ["stories"]
    assert page.locator("[data-count-for='runs']").inner_text() == "1 of 7 shown"
    page.select_option("select[data-filter='experiment'][data-table='runs']", "")
    page.fill("input[data-filter='text'][data-table='runs']", "sim:quantum")
    shown = {r.locator("td").first.inner_text() for r in visible_rows(page, "runs")}
    assert shown == {"bell-sim", "bell-exact", "sweep1/cell-0", "sweep1/cell-1"}
    assert not page.problems, page.problems


def test_trial_deep_link_opens_that_trial_with_its_reason(page, site, runs_root):
    trials = [json.loads(x) for x in (runs_root / "bell-chat" / "trials.jsonl").read_text().splitlines()]
    hostile = next(t for t in trials if t["answer"] == HOSTILE)
    run = site / "runs" / "bell-chat" / "index.html"
    visit(page, run.as_uri())
    page.select_option("select[data-filter='valid']", "valid")  # the trial is filtered out ...
    row = page.locator(f"#{trial_id(hostile)}")
    assert not row.is_visible()
    visit(page, f"{run.as_uri()}#{trial_id(hostile)}")  # ... and its link still opens it
    assert row.is_visible()
    assert "target" in (row.get_attribute("class") or "")
    box, height = row.bounding_box(), page.viewport_size["height"]
    assert box is not None and 0 <= box["y"] < height  # scrolled into view
    text = row.inner_text()
    assert "invalid: refusal" in text and "declined to choose" in text
    assert "<script>window.__pwned=1</script>" in text  # the hostile answer is shown as text ...
    assert page.evaluate("typeof window.__pwned") == "undefined"  # ... and never ran
    assert page.locator("#trials img").count() == 0
    shot(page, "run")
    ambiguous = next(t for t in trials if t["reason"] == "ambiguous")
    visit(page, f"{run.as_uri()}#{trial_id(ambiguous)}")
    assert "invalid: ambiguous" in page.locator(f"#{trial_id(ambiguous)}").inner_text()
    assert not page.problems, page.problems


def test_trial_links_to_its_cassette_line(page, site, runs_root):
    trials = [json.loads(x) for x in (runs_root / "bell-chat" / "trials.jsonl").read_text().splitlines()]
    retried = next(t for t in trials if t["retry_causes"])
    visit(page, f"{(site / 'runs' / 'bell-chat' / 'index.html').as_uri()}#{trial_id(retried)}")
    page.locator(f"#{trial_id(retried)} a.cassette-link").click()
    page.wait_for_selector("body[data-ready='1']")
    call = page.locator(f"#c-{retried['key']}")
    assert call.evaluate("el => el.open") is True
    text = call.inner_text()
    for present in ("raw response JSON", "system_fingerprint", "fp_loopback", "test-model-2026-01-01",
                    "rate_limited", "input_tokens"):
        assert present in text, present
    assert not page.problems, page.problems


def test_figures_render_and_study_page_links_cells(page, site):
    visit(page, (site / "runs" / "bell-sim" / "index.html").as_uri())
    img = page.locator("#figures img").first
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    visit(page, (site / "studies" / "sweep1" / "index.html").as_uri())
    forest = page.locator("img[src='forest.svg']")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=forest.element_handle())
    assert page.locator("#study tbody tr").count() == 2
    assert page.locator("#comparisons tbody tr").count() == 1
    shot(page, "study")
    page.locator("#study a", has_text="cell-1").click()
    page.wait_for_selector("body[data-ready='1']")
    assert page.url.endswith("/runs/sweep1/cell-1/index.html")
    assert "sim:quantum" in page.locator("h1").inner_text()
    assert not page.problems, page.problems


def test_served_page_reloads_when_a_run_finishes(page, runs, runs_root):
    shutil.rmtree(runs / "stories")
    with serve(runs, port=0, interval_s=0.2) as server:
        visit(page, server.url)
        assert page.locator("#runs tbody tr", has_text="stories").count() == 0
        shutil.copytree(runs_root / "stories", runs / "stories")
        page.wait_for_selector("#runs tbody tr:has-text('stories')", timeout=60_000)
    assert not page.problems, page.problems
