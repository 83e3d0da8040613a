"""The trials of a model study, and the cassette lines behind them.

Bell runs keep one line per answer in ``trials.jsonl`` (keys: key, context, variant, order,
labels, answer, valid, reason, position, cell, a, b, model_version, fingerprint, cached,
latency_s, attempts, retry_causes; exact mode: probs per option instead of an answer);
words-generate runs keep one line per story in ``stories.jsonl``. Every model call is one
line of the cassette, keyed by ``key``. Each trial gets the stable fragment
``#t-<key>`` (``-<i>`` for the i-th of several answers to one request) and links to
``cassette.html#c-<key>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.io import read_jsonl
from probe.view.html import esc, link, pretty_json, table, tag, td, td_text

REASONS = {
    "label": "the label alone (e.g. \"2\", \"Answer: 2\")",
    "label+text": "the label followed by the option's own text",
    "label-in-text": "exactly one label named in a short answer",
    "text": "the option's full text",
    "empty": "invalid: the answer was empty",
    "refusal": "invalid: the model declined to choose",
    "ambiguous": "invalid: more than one option was named",
    "conflict": "invalid: the label and the text name different options",
    "unmatched": "invalid: no option could be matched (nothing is guessed)",
}
"""How an answer was parsed (probe.experiments.bell.answers), in words."""


@dataclass(frozen=True, slots=True)
class Trials:
    """The trial rows of a run and the cassette lines they point to (by key)."""

    kind: str  # "answers" | "exact" | "stories"
    rows: tuple[dict[str, Any], ...]
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_lines: int = 0


def _frag(key: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(key))


def trial_id(row: dict[str, Any]) -> str:
    """The stable fragment of a trial: ``t-<key>`` (``-<i>`` after the first answer of one request)."""
    index = int(row.get("answer_index") or 0)
    return f"t-{_frag(row.get('key'))}" + (f"-{index}" if index else "")


def read_trials(run_dir: Path, cassette: Path | None) -> Trials | None:
    """The trials of a run folder, or ``None`` when it keeps none."""
    stories = run_dir / "stories.jsonl"
    source = run_dir / "trials.jsonl"
    if source.is_file():
        read = read_jsonl(source)
        rows = [r for r in read.records if r.get("kind", "answer") in ("answer", "score")]
        kind = "exact" if rows and all(r.get("kind") == "score" for r in rows) else "answers"
    elif stories.is_file():
        read = read_jsonl(stories)
        rows, kind = read.records, "stories"
    else:
        return None
    order = {c: i for i, c in enumerate(dict.fromkeys(str(r.get("context", r.get("premise", ""))) for r in rows))}
    rows.sort(key=lambda r: (order.get(str(r.get("context", r.get("premise", ""))), 0), r.get("variant") or 0,
                             r.get("trial") if isinstance(r.get("trial"), int) else 0,
                             r.get("order_id") or 0, r.get("answer_index") or 0))
    keys = {str(r.get("key")) for r in rows if r.get("key")}
    calls: dict[str, dict[str, Any]] = {}
    if cassette is not None and keys:
        for line in read_jsonl(cassette).records:
            if str(line.get("key")) in keys:
                calls[str(line["key"])] = line
    return Trials(kind, tuple(rows), calls, len(read.bad_lines))


def _options(row: dict[str, Any], call: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) of the options in the order they were presented."""
    options = (((call or {}).get("request") or {}).get("choice") or {}).get("options") or []
    if options:
        return [(str(o.get("label", "")), str(o.get("text", ""))) for o in options]
    labels = row.get("labels") or []
    order = row.get("order") or []
    return [(str(lab), f"option {order[i]}" if i < len(order) else "") for i, lab in enumerate(labels)]


def _sign(x: Any) -> str:
    return {1: "+1", -1: "−1"}.get(x, "–") if isinstance(x, int) else "–"


def _parsed(row: dict[str, Any], options: list[tuple[str, str]]) -> str:
    reason = str(row.get("reason") or "")
    words = esc(REASONS.get(reason, reason))
    if not row.get("valid"):
        return tag("span", f"<b>invalid: {esc(reason or 'unknown')}</b> — {words.removeprefix('invalid: ')}",
                   class_="invalid-reason")
    pos = row.get("position")
    chosen = options[pos - 1] if isinstance(pos, int) and 0 < pos <= len(options) else None
    what = f"{esc(chosen[0])}. {esc(chosen[1])}" if chosen else esc(f"position {pos}")
    return (f"→ <b>{what}</b> <span class=\"outcome\">(a = {_sign(row.get('a'))}, b = {_sign(row.get('b'))})</span>"
            f"<br><small>parsed by {esc(reason)}: {words}</small>")


def _call_facts(row: dict[str, Any], calls: dict[str, dict[str, Any]]) -> str:
    key = str(row.get("key") or "")
    facts = [f"version {esc(row.get('model_version') or '–')}"]
    if row.get("fingerprint"):
        facts.append(f"fingerprint {esc(row.get('fingerprint'))}")
    facts.append("replayed" if row.get("cached") else "called")
    if row.get("latency_s") is not None:
        facts.append(f"{esc(row.get('latency_s'))} s")
    attempts = row.get("attempts")
    causes = row.get("retry_causes") or []
    if (isinstance(attempts, int) and attempts > 1) or causes:
        facts.append(f"<span class=\"retries\">{esc(attempts)} attempts ({esc(', '.join(map(str, causes)) or '–')})</span>")
    cassette = (link(f"cassette.html#c-{_frag(key)}", "cassette line", class_="cassette-link") if key in calls
                else tag("span", "no cassette line", class_="muted"))
    return " · ".join(facts) + "<br>" + cassette


def _answer_rows(trials: Trials) -> tuple[list[list[str]], list[dict[str, Any]]]:
    rows, extra = [], []
    for i, row in enumerate(trials.rows, start=1):
        call = trials.calls.get(str(row.get("key")))
        options = _options(row, call)
        order = "<br>".join(f"{esc(lab)}. {esc(text)}" for lab, text in options)
        tid = trial_id(row)
        valid = bool(row.get("valid"))
        rows.append([
            td(link(f"#{tid}", i, class_="anchor"), i),
            td_text(row.get("context"), row.get("context")),
            td_text(row.get("variant"), row.get("variant")),
            td(tag("small", order), class_="order"),
            td(tag("code", esc(row.get("answer")), class_="answer"), class_="answer-cell"),
            td(_parsed(row, options), int(valid)),
            td(tag("small", _call_facts(row, trials.calls))),
        ])
        extra.append({"id": tid, "data_context": row.get("context"), "data_valid": "valid" if valid else "invalid",
                      "data_template": row.get("variant"), "class_": None if valid else "invalid"})
    return rows, extra


def _exact_rows(trials: Trials) -> tuple[list[list[str]], list[dict[str, Any]]]:
    rows, extra = [], []
    for i, row in enumerate(trials.rows, start=1):
        call = trials.calls.get(str(row.get("key")))
        options = _options(row, call)
        probs = row.get("probs_by_position") or []
        dist = "<br>".join(f"{esc(lab)}. {esc(text)}: <b>{esc(f'{p:.4f}')}</b>"
                           for (lab, text), p in zip(options, probs, strict=False))
        coverage = row.get("coverage")
        tid = trial_id(row)
        rows.append([td(link(f"#{tid}", i, class_="anchor"), i), td_text(row.get("context"), row.get("context")),
                     td_text(row.get("variant"), row.get("variant")), td_text(row.get("order_id"), row.get("order_id")),
                     td(tag("small", dist)),
                     td_text(f"{coverage:.4f}" if isinstance(coverage, float) else coverage, coverage),
                     td(tag("small", _call_facts(row, trials.calls)))])
        extra.append({"id": tid, "data_context": row.get("context"), "data_valid": "valid",
                      "data_template": row.get("variant")})
    return rows, extra


def _story_rows(trials: Trials) -> tuple[list[list[str]], list[dict[str, Any]]]:
    rows, extra = [], []
    for i, row in enumerate(trials.rows, start=1):
        flags = [str(f) for f in row.get("flags") or []]
        tid = trial_id(row)
        text = str(row.get("text") or "")
        rows.append([td(link(f"#{tid}", i, class_="anchor"), i), td_text(row.get("premise"), row.get("premise")),
                     td(tag("details", tag("summary", esc(text[:120] + ("…" if len(text) > 120 else "")))
                            + tag("pre", esc(text), class_="story"))),
                     td_text(row.get("n_tokens"), row.get("n_tokens")),
                     td(tag("span", esc(", ".join(flags)), class_="invalid-reason") if flags else "counted",
                        int(not flags)),
                     td(tag("small", _call_facts(row, trials.calls)))])
        extra.append({"id": tid, "data_context": row.get("premise"), "data_valid": "invalid" if flags else "valid",
                      "data_template": "", "class_": "invalid" if flags else None})
    return rows, extra


_HEADERS = {
    "answers": ["#", "context", "template", "option order (as shown)", "answer", "parsed", "call"],
    "exact": ["#", "context", "template", "ordering", "P(option) (as shown)", "coverage", "call"],
    "stories": ["#", "premise", "story", "tokens", "flags", "call"],
}


def _select(name: str, label: str, values: Sequence[Any]) -> str:
    opts = tag("option", "all", value="") + "".join(tag("option", esc(v), value=v) for v in values)
    return tag("label", f"{esc(label)} " + tag("select", opts, data_filter=name, data_table="trials"))


def trials_section(trials: Trials) -> str:
    """The trials table with its filters (context, validity, template, free text)."""
    build = {"answers": _answer_rows, "exact": _exact_rows, "stories": _story_rows}[trials.kind]
    rows, extra = build(trials)
    contexts = list(dict.fromkeys(str(e["data_context"]) for e in extra))
    templates = sorted({str(e["data_template"]) for e in extra if e["data_template"] not in (None, "")})
    n_invalid = sum(1 for e in extra if e["data_valid"] == "invalid")
    filters = [_select("context", "premise" if trials.kind == "stories" else "context", contexts),
               _select("valid", "validity", ["valid", "invalid"])]
    if templates:
        filters.append(_select("template", "template", templates))
    filters.append(tag("label", "text " + tag("input", type="search", data_filter="text", data_table="trials",
                                              placeholder="answer, reason, version…")))
    head = (f"<p>{len(rows)} trials, {n_invalid} invalid" + (f"; {trials.bad_lines} unreadable lines skipped"
                                                              if trials.bad_lines else "")
            + ". Each row has a stable link (its number); the cassette line holds the request, the raw response, "
              "the model version, the system fingerprint, usage, retries and their causes.</p>")
    return (head + tag("div", "".join(filters) + tag("span", "", class_="count", data_count_for="trials"),
                       class_="filters")
            + table(_HEADERS[trials.kind], rows, id_="trials", row_attrs=extra, class_="trials"))


def cassette_page_body(trials: Trials) -> str:
    """One ``<details id="c-<key>">`` per cassette line, with the trials that use it."""
    users: dict[str, list[str]] = {}
    for row in trials.rows:
        users.setdefault(str(row.get("key")), []).append(trial_id(row))
    parts = [f"<p>{len(trials.calls)} model calls behind these trials, as recorded (secrets removed).</p>"]
    for key, call in trials.calls.items():
        raw = call.get("raw")
        fingerprint = call.get("fingerprint") or (raw.get("system_fingerprint") if isinstance(raw, dict) else None)
        facts = [("time", call.get("time")), ("provider", call.get("provider")), ("model", call.get("model")),
                 ("model version", call.get("model_version")), ("system_fingerprint", fingerprint),
                 ("usage", call.get("usage")), ("attempts", call.get("attempts")),
                 ("retry causes", ", ".join(map(str, call.get("retry_causes") or [])) or "none"),
                 ("latency (s)", call.get("latency_s")), ("base URL", call.get("base_url")),
                 ("tag", (call.get("request") or {}).get("tag"))]
        dl = "".join(tag("dt", esc(k)) + tag("dd", esc(v if not isinstance(v, dict) else
                                                        ", ".join(f"{a}: {b}" for a, b in v.items())))
                     for k, v in facts if v is not None)
        back = " ".join(link(f"index.html#{t}", t) for t in users.get(key, []))
        body = (tag("dl", dl, class_="facts") + tag("p", "trials: " + back)
                + tag("h4", "request") + pretty_json(call.get("request"))
                + tag("h4", "response (as probe read it)") + pretty_json(call.get("response"))
                + tag("h4", "raw response JSON") + pretty_json(raw))
        summary = tag("summary", tag("code", esc(key)) + " · " + esc((call.get("request") or {}).get("tag") or "")
                      + " · " + esc(call.get("model_version") or ""))
        parts.append(tag("details", summary + body, id=f"c-{_frag(key)}", class_="call"))
    return "".join(parts)


__all__ = ["REASONS", "Trials", "cassette_page_body", "read_trials", "trial_id", "trials_section"]
