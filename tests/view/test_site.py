"""The static site, read as files: what each page holds, that nothing hostile or secret reaches it, incremental
and live rebuilds, and one-line errors. The same site in a real browser: tests/view/test_browser.py."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from probe.cli import main
from probe.view import build_site, serve
from probe.view.trials import trial_id
from tests.helpers import messages

from .conftest import HOSTILE

CANARY = "sk-canary-VIEW-0a1b2c3d4e5f6789"


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.scripts: list[dict] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.handlers += [f"{tag} {k}" for k in a if k.startswith("on")]
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k])
        if tag == "script":
            self.scripts.append(a)


def parse(path: Path) -> _Ids:
    p = _Ids()
    p.feed(path.read_text())
    return p


def test_index_lists_every_run_and_the_study(runs, capsys):
    assert main(["view", str(runs)]) == 0
    out = capsys.readouterr()
    url = out.out.strip().splitlines()[-1]
    assert url == (runs / "_site" / "index.html").resolve().as_uri()
    index = (runs / "_site" / "index.html").read_text()
    for rel in ("bell-chat", "bell-sim", "bell-exact", "stories", "sweep1/cell-0", "sweep1/cell-1", "sweep1"):
        assert f">{rel}</a>" in index, rel
    assert "5 runs" not in out.err and "6 runs, 1 studies" in out.err
    chat = json.loads((runs / "bell-chat" / "result.json").read_text())["result"]
    s_text = f"S = {chat['S']:.3f} ± {chat['S_se']:.3f}"
    assert s_text in index and f"N = {chat['n_total']}" in index
    assert f"{100 * chat['invalid_rate']:.1f}%" in index  # the invalid-answer rate
    assert "test-model-2026-01-01" in index  # the version the API reported
    import hashlib

    digest = hashlib.sha256((runs / "bell-chat" / "cassette.jsonl").read_bytes()).hexdigest()[:12]
    assert digest in index
    stories = json.loads((runs / "stories" / "result.json").read_text())["result"]["generation"]
    assert stories["n_requested"] == 3 and "0.0%" in index.split(">stories</a>")[1].split("</tr>")[0]


def test_run_page_has_report_figures_result_and_every_trial(runs):
    site = build_site(runs)
    page = site.out / "runs" / "bell-chat" / "index.html"
    html = page.read_text()
    parsed = parse(page)
    assert "<h4>Methods</h4>" in html and "Each request was a fresh, stateless conversation" in html
    assert (site.out / "runs" / "bell-chat" / "bell.svg").read_bytes() == (runs / "bell-chat" / "bell.svg").read_bytes()
    assert 'src="bell.svg"' in html
    assert "&quot;schema&quot;: &quot;probe-run/2&quot;" in html  # result.json pretty-printed
    trials = rows(runs / "bell-chat" / "trials.jsonl")
    ids = [trial_id(t) for t in trials]
    assert len(set(ids)) == len(ids) == 40
    assert set(ids) <= set(parsed.ids)
    # every trial links to its cassette line, and every cassette line is on the cassette page
    cassette = parse(site.out / "runs" / "bell-chat" / "cassette.html")
    assert {f"c-{t['key']}" for t in trials} <= set(cassette.ids)
    calls = rows(runs / "bell-chat" / "cassette.jsonl")
    retried = next(c for c in calls if c["retry_causes"])
    ctext = (site.out / "runs" / "bell-chat" / "cassette.html").read_text()
    assert "system_fingerprint" in ctext and "fp_loopback" in ctext and "rate_limited" in ctext
    assert f'id="c-{retried["key"]}"' in ctext
    invalid = [t for t in trials if not t["valid"]]
    assert {t["reason"] for t in invalid} == {"refusal", "ambiguous"}
    assert "invalid: refusal" in html and "invalid: ambiguous" in html


def test_trial_links_are_stable_across_rebuilds(runs, tmp_path):
    a = build_site(runs, tmp_path / "a")
    b = build_site(runs, tmp_path / "b")
    ids_a = parse(a.out / "runs" / "bell-chat" / "index.html").ids
    ids_b = parse(b.out / "runs" / "bell-chat" / "index.html").ids
    assert [i for i in ids_a if i.startswith("t-")] == [i for i in ids_b if i.startswith("t-")]


def test_model_text_is_escaped_never_markup(runs):
    site = build_site(runs)
    for page in site.out.rglob("*.html"):
        text = page.read_text()
        assert "<script>window" not in text and "<b onmouseover" not in text and "<img src=x" not in text
        parsed = parse(page)
        assert not parsed.handlers, f"{page}: event handlers {parsed.handlers}"
        for script in parsed.scripts:
            assert set(script) == {"src"} and script["src"].endswith("assets/view.js")  # our script only
    run = (site.out / "runs" / "bell-chat" / "index.html").read_text()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in run  # shown as text
    assert any(t["answer"] == HOSTILE for t in rows(runs / "bell-chat" / "trials.jsonl"))
    stories = (site.out / "runs" / "stories" / "index.html").read_text()
    assert "&lt;b onmouseover=alert(1)&gt;" in stories
    assert "Content-Security-Policy" in run and "script-src 'self'" in run


def test_bundle_is_self_contained(runs, tmp_path):
    out = tmp_path / "bundle"
    site = build_site(runs / "sweep1", out)
    assert site.n_runs == 2 and site.n_studies == 1
    for page in out.rglob("*.html"):
        for url in parse(page).urls:
            assert not re.match(r"^(https?:)?//", url), f"{page.name}: {url}"
            if url.startswith("#"):
                continue
            target = (page.parent / url.split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(out)} links to missing {url}"
    assert (out / "assets" / "view.js").is_file() and (out / "assets" / "view.css").is_file()


def test_study_page_table_forest_comparisons_and_cells(runs):
    site = build_site(runs)
    page = site.out / "studies" / "sweep1" / "index.html"
    html = page.read_text()
    assert "From <code>study.csv</code>" in html and "temperature" in html
    assert 'href="../../runs/sweep1/cell-0/index.html"' in html
    assert (site.out / "studies" / "sweep1" / "forest.svg").read_bytes().startswith(b"<?xml")
    assert "Holm" in html and "cell-0" in html and "cell-2 — no folder yet (study.json: pending)" in html
    s = [json.loads((runs / "sweep1" / f"cell-{i}" / "result.json").read_text())["result"] for i in (0, 1)]
    diff = s[0]["S"] - s[1]["S"]
    assert f"{diff:.3f}" in html
    cell = (site.out / "runs" / "sweep1" / "cell-0" / "index.html").read_text()
    assert 'href="../../../studies/sweep1/index.html"' in cell  # back to the study


def test_no_secret_reaches_the_site(runs, monkeypatch):
    """The canary key, planted in every kind of file a run folder has, is not in any byte of the site."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    run = runs / "bell-chat"
    trials = rows(run / "trials.jsonl")
    trials[0]["answer"] = f"my key is {CANARY}"
    (run / "trials.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trials))
    calls = rows(run / "cassette.jsonl")
    calls[0]["raw"]["echo"] = {"authorization": f"Bearer {CANARY}", "note": CANARY}
    (run / "cassette.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls))
    doc = json.loads((run / "result.json").read_text())
    doc["warnings"].append(f"server said {CANARY}")
    (run / "result.json").write_text(json.dumps(doc))
    (run / "report.md").write_text((run / "report.md").read_text() + f"\n\nkey: {CANARY}\n")
    (run / "bell.svg").write_text((run / "bell.svg").read_text().replace("</svg>", f"<!-- {CANARY} --></svg>"))
    (run / "extra.png").write_bytes(b"\x89PNG" + CANARY.encode())
    site = build_site(runs)
    for path in site.out.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    assert "runs/bell-chat/extra.png" in site.skipped_files
    assert "[REDACTED]" in (site.out / "runs" / "bell-chat" / "index.html").read_text()


def test_incremental_rebuild_and_pruning(runs):
    first = build_site(runs)
    assert first.rebuilt == 7  # 6 runs + 1 study
    assert build_site(runs).rebuilt == 0
    doc = runs / "bell-sim" / "result.json"
    doc.write_text(doc.read_text())  # a rerun rewrites result.json
    assert build_site(runs).rebuilt == 1
    shutil.rmtree(runs / "bell-exact")
    again = build_site(runs)
    assert not (again.out / "runs" / "bell-exact").exists() and again.n_runs == 5


def test_unfinished_and_broken_runs_are_listed_not_fatal(runs):
    (runs / "half").mkdir()
    (runs / "half" / "run.json").write_text("{}")
    (runs / "broken").mkdir()
    (runs / "broken" / "result.json").write_text("{not json")
    site = build_site(runs)
    index = site.index.read_text()
    assert "half" in index and "incomplete" in index
    assert "broken" in index and "not valid JSON" in index


@pytest.mark.parametrize("case", ["missing", "foreign-out", "out-is-root"])
def test_bad_input_one_line_exit_2(runs, tmp_path, capsys, case):
    if case == "missing":
        args = ["view", str(tmp_path / "nope")]
    elif case == "foreign-out":
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "thesis.tex").write_text("keep me")
        args = ["view", str(runs), "--out", str(tmp_path / "mine")]
    else:
        args = ["view", str(runs), "--out", str(runs)]
    assert main(args) == 2
    err = messages(capsys.readouterr().err)
    assert err.startswith("probe: error: ") and err.count("\n") == 1 and "Traceback" not in err
    if case == "foreign-out":
        assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me"
        assert not (tmp_path / "mine" / "index.html").exists()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only
        return resp.read().decode()


def test_serve_rebuilds_when_a_run_finishes(runs, runs_root):
    shutil.rmtree(runs / "bell-exact")
    with serve(runs, port=0, interval_s=0.2) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert ">bell-sim</a>" in _get(server.url) and ">bell-exact</a>" not in _get(server.url)
        before = json.loads(_get(server.url + "_build.json"))["build"]
        shutil.copytree(runs_root / "bell-exact", runs / "bell-exact")  # a run finishes
        deadline = time.monotonic() + 60
        while ">bell-exact</a>" not in _get(server.url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ">bell-exact</a>" in _get(server.url)
        assert json.loads(_get(server.url + "_build.json"))["build"] != before
        assert "P(option)" in _get(server.url + "runs/bell-exact/index.html")


def test_cli_serve_prints_its_address_and_serves(runs):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "probe", "view", str(runs), "--serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "serving" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(proc.stderr.read())
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert ">bell-chat</a>" in _get(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_words_estimate_is_the_bias_corrected_b_its_interval_surrounds():
    from probe.view.summary import main_estimate

    fits = {"be": {"B": 3613.0, "B_bias_corrected": 3461.0, "B_ci95": [3352.0, 3532.0]}}
    est, extra = main_estimate("words", {"fits": fits, "n_tokens": 1000, "preferred": "BE"})
    assert (est.label, est.value, est.ci) == ("B (bias-corrected)", 3461.0, (3352.0, 3532.0))
    assert est.ci[0] <= est.value <= est.ci[1] and extra["verdict"] == "BE"
    plain, _ = main_estimate("words", {"fits": {"be": {"B": 10.0, "B_ci95": None}}, "n_tokens": 5})
    assert (plain.label, plain.value, plain.ci) == ("B", 10.0, None)
