"""A canary key never reaches disk or the terminal; budgets stop a run before it overspends."""

from __future__ import annotations

import pytest

from probe.testing import ChatServer, FaultPlan
from tests.helpers import read_result

from .conftest import CANARY, run_probe


def every_byte(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_canary_key_never_written_even_when_echoed(tmp_path):
    out = tmp_path / "run"
    plan = FaultPlan(rate=0.3, kinds=("echo", "429"), seed=9, retry_after_s=0.01)
    with ChatServer(faults=plan) as srv:
        proc = run_probe("bell", "--model", "openai:m", "--base-url", srv.url, "--trials", "20", "--n-boot", "300",
                         "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert srv.fault_counts["echo"] > 0 and any(CANARY in h.get("authorization", "") for h in srv.headers_seen)
    assert CANARY.encode() not in every_byte(out)
    assert CANARY not in proc.stdout + proc.stderr
    assert "[REDACTED]" in (out / "trials.jsonl").read_text()


@pytest.mark.slow
def test_canary_key_not_in_error_messages_or_debug_tracebacks(tmp_path):
    with ChatServer(faults=FaultPlan(rate=1.0, kinds=("echo_error",))) as srv:
        for extra in ([], ["--debug"]):
            args = ["bell", "--model", "openai:m", "--base-url", srv.url, "--trials", "2", "--out",
                    str(tmp_path / f"e{len(extra)}")]
            proc = run_probe(*extra, *args)
            assert proc.returncode == 1
            assert "request rejected (400" in proc.stderr
            assert CANARY not in proc.stderr + proc.stdout
            if extra:
                assert "Traceback" in proc.stderr  # --debug shows it, redacted
    assert not any(p.exists() for p in tmp_path.glob("e*"))


@pytest.mark.slow
def test_max_cost_uses_the_price_table_and_resumes(tmp_path):
    out = tmp_path / "cost"
    prices = tmp_path / "prices.toml"
    prices.write_text('[models]\n"budget-model" = { input = 100.0, output = 100.0 }\n')  # $ per 1M tokens
    with ChatServer() as srv:
        args = ["bell", "--model", "openai:budget-model", "--base-url", srv.url, "--trials", "25", "--n-boot", "300",
                "--concurrency", "1", "--prices", str(prices), "--out", str(out)]
        first = run_probe(*args, "--max-cost", "0.1")
        assert first.returncode == 3 and "max_cost = $0.1 reached" in first.stderr and "resume with" in first.stderr
        paid = srv.calls
        assert 0 < paid < 100
        second = run_probe(*args)
        assert second.returncode == 0
        assert srv.calls == 100 and set(srv.answered.values()) == {1}
    result = read_result(out)
    per_call = (result["run"]["input_tokens"] + result["run"]["output_tokens"]) * 100.0 / 1e6 / result["run"]["calls"]
    assert paid * per_call <= 0.1 + 1e-9  # the first run stayed within its budget


def test_bad_price_table(tmp_path):
    prices = tmp_path / "p.toml"
    prices.write_text('[models]\n"m" = { input = "cheap" }\n')
    proc = run_probe("bell", "--model", "sim:quantum", "--trials", "2", "--prices", str(prices),
                     "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "models.m: needs numeric 'input' and 'output'" in proc.stderr


@pytest.mark.slow
def test_words_generate_honours_the_budget_like_bell(tmp_path):
    """`probe words --generate --max-cost` stops before overspending (it used to make every paid call)."""
    prices = tmp_path / "prices.toml"
    prices.write_text('[models]\n"story-model" = { input = 1000.0, output = 1000.0 }\n')
    with ChatServer() as srv:
        args = ["words", "--generate", "--model", "openai:story-model", "--base-url", srv.url, "--n", "12",
                "--min-words", "5", "--concurrency", "1", "--prices", str(prices), "--out", str(tmp_path / "w")]
        proc = run_probe(*args, "--max-cost", "1e-7")
        assert proc.returncode == 3 and "max_cost" in proc.stderr
        assert srv.calls <= 1  # the first call sets the price per call; no second one is started
        # an unknown price with a budget is an error before any call, not a silent pass
        calls = srv.calls
        proc = run_probe("words", "--generate", "--model", "openai:unpriced", "--base-url", srv.url, "--n", "3",
                         "--max-cost", "1", "--out", str(tmp_path / "u"))
        assert proc.returncode == 2 and "no price for openai:unpriced" in proc.stderr
        assert srv.calls == calls and not (tmp_path / "u").exists()
