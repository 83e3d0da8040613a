"""``probe quantum power | expressibility | capability | mie`` through probe.cli.main: parsing, exit codes,
the files a run writes and one-line errors. The numbers are tested through the library in
tests/experiments/quantum/test_circuit_studies.py."""

from __future__ import annotations

import numpy as np
import pytest

from probe.cli import main
from tests.helpers import messages, read_result


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["quantum", *argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_power_writes_everything_and_prints_the_result(tmp_path, capsys):
    out = tmp_path / "cnot"
    rc, stdout, _ = _run(capsys, "power", "--gate", "CNOT", "--starts", "2", "--mc-samples", "500", "--out", str(out))
    assert rc == 0
    assert "entangling power e_p = 0.2222" in stdout and "±" in stdout and str(out) in stdout
    res = read_result(out)
    assert res["experiment"] == "quantum-power"
    assert res["settings"]["capacity_starts"] == 2 and res["settings"]["mc_samples"] == 500
    for name in ("report.md", "table.tex", "power.png", "run.json", "result.json"):
        assert (out / name).exists()
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0  # the report is rebuilt from result.json alone
    assert "2/9" in (out / "report.md").read_text()


def test_power_cut_flag_and_unitary_files(tmp_path, capsys):
    np.save(tmp_path / "u8.npy", np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0])
    rc, _, err = _run(capsys, "power", "--unitary", str(tmp_path / "u8.npy"), "--out", str(tmp_path / "u8"))
    assert rc == 2 and "--cut" in err and "cannot be split evenly" in err and not (tmp_path / "u8").exists()
    rc, _, _ = _run(capsys, "power", "--unitary", str(tmp_path / "u8.npy"), "--cut", "1", "--starts", "0",
                    "--out", str(tmp_path / "u8"))
    assert rc == 0 and read_result(tmp_path / "u8")["dims"] == [2, 4]
    rc, _, err = _run(capsys, "power", "--gate", "CNOT", "--unitary", str(tmp_path / "u8.npy"))
    assert rc == 2 and "--gate" in err and "exactly one" in err


@pytest.mark.parametrize(("matrix", "message"), [
    (np.diag([1, 1, 1, 0.9]), "not unitary (max |U†U − I| = 0.19"),
    (np.eye(3), "not a power of two"),
    (np.ones((2, 3)), "square matrix"),
])
def test_power_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, matrix, message):
    np.save(tmp_path / "bad.npy", matrix)
    rc, _, err = _run(capsys, "power", "--unitary", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "run"))
    assert rc == 2
    assert message in err
    assert messages(err).count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_tables_write_their_files(tmp_path, capsys):
    rc, stdout, _ = _run(capsys, "expressibility", "--ansatz", "ring,sim2", "--qubits", "3", "--layers", "1..2",
                         "--samples", "200", "--out", str(tmp_path / "e"))
    assert rc == 0 and sum(" ± " in line for line in stdout.splitlines()[1:]) == 4
    assert read_result(tmp_path / "e")["settings"]["layers"] == [1, 2]
    for name in ("expressibility.png", "report.md", "table.tex", "items.jsonl"):
        assert (tmp_path / "e" / name).exists()
    rc, _, _ = _run(capsys, "capability", "--ansatz", "sim1", "--qubits", "3", "--layers", "2", "--samples", "50",
                    "--out", str(tmp_path / "c"))
    assert rc == 0 and (tmp_path / "c" / "capability.png").exists()


def test_bad_table_settings_name_the_flag(tmp_path, capsys):
    rc, _, err = _run(capsys, "expressibility", "--qubits", "40", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--qubits 40" in err and "needs about" in err and "TiB" in err
    rc, _, err = _run(capsys, "expressibility", "--ansatz", "nope", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--ansatz nope" in err and "unknown" in err
    rc, _, err = _run(capsys, "capability", "--layers", "5..1", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--layers" in err
    rc, _, err = _run(capsys, "mie", "--qubits", "4", "--measure-rate", "0..2", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--measure-rate" in err and "[0.0, 1.0]" in err
    rc, _, err = _run(capsys, "mie", "--qubits", "4", "--depth", "x", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--depth" in err
    assert not (tmp_path / "x").exists()


def test_mie_writes_its_files(tmp_path, capsys):
    rc, stdout, _ = _run(capsys, "mie", "--qubits", "4", "--depth", "0..1", "--measure-rate", "0,1", "--circuits", "2",
                         "--trajectories", "2", "--out", str(tmp_path / "m"))
    assert rc == 0 and "depth 1, rate 1.0" in stdout
    assert (tmp_path / "m" / "mie.png").exists() and len(read_result(tmp_path / "m")["table"]) == 4


def test_foreign_out_folder_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    rc, _, err = _run(capsys, "power", "--gate", "CZ", "--out", str(tmp_path))
    assert rc == 2 and "not a probe run folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_file_as_out_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    rc, _, err = _run(capsys, "expressibility", "--qubits", "3", "--layers", "1", "--samples", "50",
                      "--out", str(tmp_path / "f"))
    assert rc == 2 and "not a folder" in err
    assert (tmp_path / "f").read_text() == "x"
