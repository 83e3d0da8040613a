"""The state of every batch of a run folder (or of a study's folders), read from the journals alone.

Nothing is asked of the provider: this is what the last run that touched each journal saw.
``probe bell ... --batch`` (the same command) polls and collects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from probe.batch.journal import Journal
from probe.errors import ConfigError


def journals_under(folder: str | Path) -> list[Path]:
    """Every ``*.batches.jsonl`` in ``folder`` and its sub-folders (a run, or a study of runs)."""
    root = Path(folder)
    if not root.exists():
        raise ConfigError(f"{root}: no such run folder", hint="pass the folder of a run made with --batch")
    if root.is_file():
        return [root] if root.name.endswith(".batches.jsonl") else []
    return sorted(root.rglob("*.batches.jsonl"))


def batch_summary(journal_file: str | Path) -> dict[str, Any]:
    """Per-batch rows and totals of one journal: state, counts, collected, errors, cost at batch rates."""
    journal = Journal(journal_file)
    st = journal.state
    rows = []
    for b in st.batches.values():
        rows.append({"local_id": b.local_id, "batch_id": b.batch_id, "provider": b.provider, "model": b.model,
                     "state": b.state, "closed": b.closed, "requests": len(b.keys), "counts": b.counts,
                     "collected": b.collected, "errors": len(b.errors), "malformed": b.malformed,
                     "cost_usd": b.cost_usd, "time": b.time})
    costs = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    return {"journal": str(journal_file), "batches": rows, "pending_requests": len(st.pending),
            "in_flight": len(st.in_flight()), "collected": sum(r["collected"] for r in rows),
            "cost_usd": round(sum(costs), 8) if costs else None}


def status_lines(folder: str | Path) -> list[str]:
    """Human lines for ``probe batch status``."""
    files = journals_under(folder)
    if not files:
        return [f"{folder}: no batches (no *.batches.jsonl: the run was not made with --batch)"]
    out = []
    for f in files:
        s = batch_summary(f)
        cost = "unknown" if s["cost_usd"] is None else f"${s['cost_usd']:.6f}"
        out.append(f"{f}: {len(s['batches'])} batches, {s['collected']} answers collected of "
                   f"{s['pending_requests']} requests sent, {s['in_flight']} in flight; cost at batch rates {cost}")
        for r in s["batches"]:
            c = r["counts"]
            counts = f"{c.get('completed', 0)} done, {c.get('failed', 0)} failed of {c.get('total', r['requests'])}"
            money = "" if r["cost_usd"] is None else f", ${r['cost_usd']:.6f}"
            out.append(f"  {r['batch_id'] or '(not created)'} [{r['provider']}:{r['model']}] {r['state']}"
                       f"{' (collected)' if r['closed'] else ''}: {r['requests']} requests, {counts}, "
                       f"{r['collected']} collected, {r['errors']} re-queued{money}")
            for m in r["malformed"]:
                out.append(f"    malformed result line {m.get('line')} (key {m.get('key')}): {m.get('why')}")
    return out


__all__ = ["batch_summary", "journals_under", "status_lines"]
