"""``probe quantum power | expressibility | capability | mie`` end to end through probe.cli.main."""

from __future__ import annotations

import numpy as np
import pytest

from probe.cli import main
from tests.helpers import messages, read_result


def _run(capsys, *argv: str) -> tuple[int, str]:
    rc = main(["quantum", *argv])
    return rc, capsys.readouterr().err


def test_power_cnot_writes_everything(tmp_path, capsys):
    out = tmp_path / "cnot"
    rc, _ = _run(capsys, "power", "--gate", "CNOT", "--starts", "2", "--mc-samples", "500", "--out", str(out))
    assert rc == 0
    res = read_result(out)
    assert res["experiment"] == "quantum-power"
    assert res["entangling_power"] == pytest.approx(2 / 9, abs=1e-12)
    assert res["disentangling_power"] == pytest.approx(2 / 9, abs=1e-12)
    assert res["entangling_capacity"] == pytest.approx(1.0, abs=1e-6)
    for name in ("report.md", "table.tex", "power.png", "run.json"):
        assert (out / name).exists()
    assert "2/9" in (out / "report.md").read_text()
    # the report can be rebuilt from result.json alone
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").exists()


def test_power_from_unitary_files(tmp_path, capsys):
    swap = np.eye(4)[[0, 2, 1, 3]]
    np.save(tmp_path / "swap.npy", swap)
    rc, _ = _run(capsys, "power", "--unitary", str(tmp_path / "swap.npy"), "--starts", "0", "--out", str(tmp_path / "s"))
    assert rc == 0
    assert read_result(tmp_path / "s")["entangling_power"] == pytest.approx(0, abs=1e-12)
    # three qubits need a cut; with --cut 1 the 2x4 split is used
    np.save(tmp_path / "u8.npy", np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0])
    rc, err = _run(capsys, "power", "--unitary", str(tmp_path / "u8.npy"), "--out", str(tmp_path / "u8"))
    assert rc == 2 and "cannot be split evenly" in err and not (tmp_path / "u8").exists()
    rc, _ = _run(capsys, "power", "--unitary", str(tmp_path / "u8.npy"), "--cut", "1", "--starts", "0",
                 "--out", str(tmp_path / "u8"))
    assert rc == 0
    assert read_result(tmp_path / "u8")["dims"] == [2, 4]


@pytest.mark.parametrize(("matrix", "message"), [
    (np.diag([1, 1, 1, 0.9]), "not unitary (max |U†U − I| = 0.19"),
    (np.eye(3), "not a power of two"),
    (np.ones((2, 3)), "square matrix"),
])
def test_power_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, matrix, message):
    np.save(tmp_path / "bad.npy", matrix)
    rc, err = _run(capsys, "power", "--unitary", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "run"))
    assert rc == 2
    assert message in err
    assert messages(err).count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_expressibility_and_capability_tables_are_seeded(tmp_path, capsys):
    args = ["--ansatz", "ring,sim2", "--qubits", "3", "--layers", "1..2", "--samples", "400"]
    assert _run(capsys, "expressibility", *args, "--out", str(tmp_path / "e1"))[0] == 0
    assert _run(capsys, "expressibility", *args, "--out", str(tmp_path / "e2"))[0] == 0
    r1 = read_result(tmp_path / "e1")
    r2 = read_result(tmp_path / "e2")
    assert r1["table"] == r2["table"]
    assert [(row["ansatz"], row["layers"]) for row in r1["table"]] == [("ring", 1), ("ring", 2), ("sim2", 1),
                                                                       ("sim2", 2)]
    assert all(row["expressibility"] > 0 and row["expressibility_se"] > 0 for row in r1["table"])
    assert (tmp_path / "e1" / "expressibility.png").exists()
    assert _run(capsys, "capability", "--ansatz", "sim1,ring", "--qubits", "3", "--layers", "2",
                "--samples", "200", "--out", str(tmp_path / "c"))[0] == 0
    rows = read_result(tmp_path / "c")["table"]
    assert rows[0]["entangling_capability"] == pytest.approx(0.0, abs=1e-12)  # sim1 has no entanglers
    assert rows[1]["entangling_capability"] > 0.1 and rows[1]["layers"] == 2


def test_too_many_qubits_says_how_much_memory(tmp_path, capsys):
    rc, err = _run(capsys, "expressibility", "--qubits", "40", "--out", str(tmp_path / "x"))
    assert rc == 2 and "needs about" in err and "TiB" in err
    assert not (tmp_path / "x").exists()
    rc, err = _run(capsys, "expressibility", "--ansatz", "nope", "--out", str(tmp_path / "x"))
    assert rc == 2 and "unknown" in err
    rc, err = _run(capsys, "capability", "--layers", "5..1", "--out", str(tmp_path / "x"))
    assert rc == 2 and "--layers" in err


def test_mie_small_scan(tmp_path, capsys):
    rc, _ = _run(capsys, "mie", "--qubits", "4", "--depth", "0..2", "--measure-rate", "0,1", "--circuits", "2",
                 "--trajectories", "2", "--out", str(tmp_path / "m"))
    assert rc == 0
    res = read_result(tmp_path / "m")
    rows = res["table"]
    assert len(rows) == 6
    assert all(r["mie"] == pytest.approx(0.0, abs=1e-10) for r in rows if r["depth"] == 0 or r["rate"] == 1)
    assert (tmp_path / "m" / "mie.png").exists()


def test_foreign_out_folder_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    rc, err = _run(capsys, "power", "--gate", "CZ", "--out", str(tmp_path))
    assert rc == 2 and "not a probe run folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
