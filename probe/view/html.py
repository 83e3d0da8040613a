"""Small HTML builders: every piece of text goes through :func:`esc` (secrets redacted, then escaped).

Nothing here trusts its input: model answers, prompts, file names and settings are all
data. A page carries a Content-Security-Policy that allows only the site's own script and
style sheet, so even markup that slipped through escaping could not run a script.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from probe.secrets import redact, redact_text

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'")


class Secrets:
    """The secret values of this build, read once from the environment (see :mod:`probe.secrets`)."""

    values: ClassVar[list[str]] = []


def clean_text(text: Any) -> str:
    """``text`` as a string with every secret value and key-shaped token replaced."""
    return redact_text(str(text), Secrets.values)


def clean(obj: Any) -> Any:
    """A copy of a JSON-like object with secrets removed (by key name and by value)."""
    return redact(obj, Secrets.values)


def esc(text: Any) -> str:
    """Text for an HTML element or a quoted attribute: redacted, then escaped (quotes too)."""
    if text is None:
        return ""
    return html.escape(clean_text(text), quote=True)


def attrs(**values: Any) -> str:
    """`` key="value"`` pairs (underscores become dashes; ``None`` and ``False`` are left out)."""
    out = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(out)


def tag(name: str, body: str = "", **values: Any) -> str:
    """``<name attrs>body</name>``; ``body`` is already HTML."""
    return f"<{name}{attrs(**values)}>{body}</{name}>"


def link(href: str, text: Any, **values: Any) -> str:
    return tag("a", esc(text), href=href, **values)


def num(x: Any, digits: int = 3) -> str:
    """A number for a table cell (``–`` for missing)."""
    from probe.report.format import fmt

    return fmt(x, digits)


def sort_key(x: Any) -> str:
    """The ``data-sort`` value of a cell: numbers as numbers, missing values empty (sorted last)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    if isinstance(x, bool):
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def pretty_json(obj: Any) -> str:
    """Pretty-printed JSON in a ``<pre>``, secrets removed, escaped."""
    return tag("pre", esc(json.dumps(clean(obj), indent=2, ensure_ascii=False, default=str)), class_="json")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, id_: str | None = None, sortable: bool = True,
          row_attrs: Iterable[dict[str, Any]] | None = None, class_: str = "") -> str:
    """A table; ``rows`` hold cell HTML (``<td>`` included, so a cell can carry ``data-sort``)."""
    head = "".join(tag("th", esc(h), scope="col") for h in header)
    extras = list(row_attrs) if row_attrs is not None else None
    body = []
    for i, cells in enumerate(rows):
        body.append(f"<tr{attrs(**extras[i]) if extras else ''}>{''.join(cells)}</tr>")
    classes = " ".join(c for c in ("sortable" if sortable else "", class_) if c)
    return (f"<table{attrs(id=id_, class_=classes or None)}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def td(body_html: str, sort: Any = None, **values: Any) -> str:
    return tag("td", body_html, data_sort=None if sort is None else sort_key(sort), **values)


def td_text(text: Any, sort: Any = None, **values: Any) -> str:
    return td(esc(text), sort, **values)


def page(*, title: str, body: str, up: str, kind: str, crumbs: Sequence[tuple[str, str]] = ()) -> str:
    """A whole page: ``up`` is the relative path back to the site root (``""`` or ``"../../"``)."""
    trail = " / ".join([link(f"{up}index.html", "probe view"), *(link(h, t) if h else esc(t) for h, t in crumbs)])
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        f"<title>{esc(title)}</title><link rel=\"stylesheet\" href=\"{up}assets/view.css\"></head>\n"
        f"<body{attrs(data_root=up or './', data_page=kind)}><header class=\"top\"><nav>{trail}</nav></header>\n"
        f"<main>\n{body}\n</main>\n<script src=\"{up}assets/view.js\"></script></body></html>\n"
    )


def markdown(text: str, *, shift: int = 2) -> str:
    """Markdown (a report.md) as HTML: raw HTML in the source is escaped, never passed through.

    Headings move down ``shift`` levels (the report's ``#`` title sits under the page's own).
    """
    import re

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    out = md.render(clean_text(text))
    return re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}>", out)


__all__ = ["CSP", "Secrets", "attrs", "clean", "clean_text", "esc", "link", "markdown", "num", "page",
           "pretty_json", "sort_key", "table", "tag", "td", "td_text"]
