"""``probe quantum rl`` with the Rainbow agents, the component flags and an HRAP benchmark."""

from __future__ import annotations

from tests.helpers import read_result


def test_rainbow_agents_on_hrap_through_the_cli(tmp_path, cli, capsys) -> None:
    out = tmp_path / "rainbow"
    assert cli("rl", "--env", "hrap-3x8", "--agent", "vqr-dqn,rainbow-dqn,double-dqn", "--episodes", "3",
               "--layers", "1", "--qubits", "2", "--gamma", "1", "--eval-episodes", "1", "--out", str(out)) == 0
    r = read_result(out)
    comps = {s["agent"]: s["components"] for s in r["summary"]}
    assert comps["vqr-dqn"]["distributional"] and comps["rainbow-dqn"]["noisy"] and comps["vqr-dqn"]["dueling"]
    assert not comps["double-dqn"]["prioritized"] and comps["double-dqn"]["n_step"] == 1
    assert r["settings"]["qubits"] == 2
    assert "C51" in (out / "report.md").read_text()


def test_component_flags_reach_the_config(tmp_path, cli) -> None:
    out = tmp_path / "flags"
    assert cli("rl", "--env", "bandit", "--agent", "mlp-dqn", "--episodes", "3", "--layers", "1", "--dueling",
               "--noisy", "--distributional", "--eval-episodes", "1", "--out", str(out)) == 0
    r = read_result(out)
    assert r["config"]["dueling"] and r["config"]["noisy"] and r["config"]["distributional"]
    assert r["summary"][0]["components"]["noisy"]


def test_too_many_qubits_fails_before_any_folder(tmp_path, cli, capsys) -> None:
    assert cli("rl", "--env", "hrap-6x20", "--agent", "vqr-dqn", "--out", str(tmp_path / "bad")) == 2
    assert "qubits" in capsys.readouterr().err and not (tmp_path / "bad").exists()
