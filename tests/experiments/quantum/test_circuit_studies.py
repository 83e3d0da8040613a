"""The power, expressibility, capability and MIE studies through the library: known answers, settings
validation that names the parameter, seeded and resumable tables and scans."""

from __future__ import annotations

import json

import numpy as np
import pytest

from probe.errors import DataError, SettingError
from probe.experiments.quantum import mie, power, tables
from probe.protocol import How
from probe.runs import ItemLog, load_run

QUIET = {"progress": False}


def _how(path, **kw) -> How:
    return How(out=path, progress=False, report=False, **kw)


# --------------------------------------------------------------------------- power


def test_cnot_power_and_capacity(tmp_path):
    r = power.run(power.PowerSettings(gate="CNOT", capacity_starts=2, mc_samples=500), _how(tmp_path / "p"))
    assert r.entangling_power == pytest.approx(2 / 9, abs=1e-12)
    assert r.disentangling_power == pytest.approx(2 / 9, abs=1e-12)
    assert r.entangling_capacity == pytest.approx(1.0, abs=1e-6)  # one ebit (Linden, Smolin & Winter)
    assert abs(r.mc_entangling_power - 2 / 9) < 4 * r.mc_se
    assert {g["gate"]: g["entangling_power"] for g in r["reference"]}["SWAP"] == pytest.approx(0, abs=1e-12)
    frame = r.to_frame()
    assert list(frame.columns) == ["measure", "value", "se", "unit"] and len(frame) == 6
    back = load_run(tmp_path / "p")
    assert isinstance(back, power.PowerResult) and back.settings == r.settings
    assert back.entangling_power == r.entangling_power


def test_power_of_matrices_and_cuts(tmp_path):
    swap = np.eye(4)[[0, 2, 1, 3]]
    r = power.run(power.PowerSettings(unitary=swap, capacity_starts=0, mc_samples=100), _how(tmp_path / "s"))
    assert r.entangling_power == pytest.approx(0, abs=1e-12) and r.name == "matrix"
    assert load_run(tmp_path / "s").settings == r.settings  # the matrix survives result.json
    u8 = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0]
    with pytest.raises(SettingError, match="cannot be split evenly") as exc:
        power.PowerSettings(unitary=u8).validate()
    assert exc.value.param == "cut"
    np.save(tmp_path / "u8.npy", u8)
    r = power.run(power.PowerSettings(unitary=str(tmp_path / "u8.npy"), cut=1, capacity_starts=0, mc_samples=100),
                  _how(tmp_path / "u8"))
    assert r.dims == (2, 4) and "reference" not in r.result
    assert power.PowerSettings(unitary=u8, dims="2,4").prepare()[1] == (2, 4)


@pytest.mark.parametrize(("kwargs", "param"), [
    ({}, "gate"), ({"gate": "CNOT", "unitary": "u.npy"}, "gate"), ({"gate": "CNOT", "cut": 2}, "cut"),
    ({"gate": "CNOT", "dims": "2,3"}, "dims"), ({"gate": "CNOT", "ancilla": "0,1"}, "ancilla"),
    ({"gate": "CNOT", "mc_samples": 1}, "mc_samples"), ({"gate": "CNOT", "capacity_starts": -1}, "capacity_starts"),
    ({"gate": "CNOT", "ancilla": "64,64"}, "ancilla"), ({"gate": "CNOT", "seed": -1}, "seed"),
    ({"unitary": "missing.npy"}, "unitary"),
])
def test_power_settings_name_the_parameter(kwargs, param):
    with pytest.raises(SettingError) as exc:
        power.PowerSettings(**kwargs).validate()
    assert exc.value.param == param
    assert "--" not in str(exc.value)  # library errors speak parameters, not flags


def test_unknown_gate_is_a_data_error():
    with pytest.raises(DataError, match="unknown two-qubit gate"):
        power.PowerSettings(gate="CNOTT").validate()


# --------------------------------------------------------------------------- tables


def test_table_settings_read_ranges_and_lists():
    s = tables.ExpressibilitySettings(ansatz="Ring, sim2", layers="1..5:2")
    assert s.ansatz == ("ring", "sim2") and s.layers == (1, 3, 5)
    assert tables.CapabilitySettings(ansatz=["line"], layers=[2, 4]).layers == (2, 4)
    assert tables.CapabilitySettings(layers=3).layers == (3,)
    for kwargs, param in (({"layers": "5..1"}, "layers"), ({"ansatz": "nope"}, "ansatz"), ({"qubits": 0}, "qubits"),
                          ({"qubits": 40}, "qubits"), ({"samples": 1}, "samples"), ({"bins": 1}, "bins"),
                          ({"ansatz": "sim2", "qubits": 1}, "qubits")):
        with pytest.raises(SettingError) as exc:
            tables.ExpressibilitySettings(**kwargs).validate()
        assert exc.value.param == param


def test_capability_known_answers_and_typed_result(tmp_path):
    s = tables.CapabilitySettings(ansatz="sim1,ring", qubits=3, layers=2, samples=200)
    r = tables.run(s, _how(tmp_path / "c"))
    assert r.entangling_capability("sim1", 2)[0] == pytest.approx(0.0, abs=1e-12)  # no entanglers
    q, se = r.entangling_capability("ring", 2)
    assert q > 0.1 and 0 < se < 0.05
    assert list(r.to_frame()["ansatz"]) == ["sim1", "ring"]
    assert isinstance(load_run(tmp_path / "c"), tables.CapabilityTableResult)


def test_expressibility_is_seeded_and_resumes_and_extends(tmp_path, monkeypatch):
    s = tables.ExpressibilitySettings(ansatz="ring,sim2", qubits=3, layers="1..2", samples=300, seed=5)
    whole = tables.run(s, _how(tmp_path / "whole"))
    assert [(row["ansatz"], row["layers"]) for row in whole.table] == [("ring", 1), ("ring", 2), ("sim2", 1),
                                                                       ("sim2", 2)]
    assert all(row["expressibility"] > 0 and row["expressibility_se"] > 0 for row in whole.table)
    assert whole.idle_maximum == pytest.approx(7 * np.log(75))
    # the same settings give the same table
    assert tables.run(s, _how(tmp_path / "again")).table == whole.table
    # a run killed after two rows keeps them, leaves no result.json, and resumes to the same table
    added = []
    real_add = ItemLog.add

    def add_then_die(self, item_id, value):
        real_add(self, item_id, value)
        added.append(item_id)
        if len(added) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ItemLog, "add", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        tables.run(s, _how(tmp_path / "cut"))
    monkeypatch.setattr(ItemLog, "add", real_add)
    assert not (tmp_path / "cut" / "result.json").exists()
    assert len((tmp_path / "cut" / "items.jsonl").read_text().splitlines()) == 2
    resumed = tables.run(s, _how(tmp_path / "cut"))
    assert json.dumps(resumed.table, sort_keys=True) == json.dumps(whole.table, sort_keys=True)
    # a table started with one layer and extended to two computes only the new rows, with the same numbers
    tables.run(tables.ExpressibilitySettings(ansatz="ring,sim2", qubits=3, layers=1, samples=300, seed=5),
               _how(tmp_path / "grow"))
    grown = tables.run(s, _how(tmp_path / "grow"))
    assert json.dumps(grown.table, sort_keys=True) == json.dumps(whole.table, sort_keys=True)
    # other numbers-defining settings cannot be changed on resume
    with pytest.raises(Exception, match="cannot resume"):
        tables.run(tables.ExpressibilitySettings(ansatz="ring,sim2", qubits=3, layers="1..2", samples=300, seed=6),
                   _how(tmp_path / "grow"))


# --------------------------------------------------------------------------- MIE


def test_mie_zero_at_depth_zero_and_full_measurement_and_resumes(tmp_path):
    s = mie.MieSettings(qubits=4, depths="0..2", rates="0,1", circuits=2, trajectories=2)
    r = mie.run(s, _how(tmp_path / "m"))
    assert len(r.table) == 6
    assert all(row["mie"] == pytest.approx(0.0, abs=1e-10) for row in r.table if row["depth"] == 0 or row["rate"] == 1)
    value, se = r.mie(2, 0.0)
    assert 0 <= value <= 1 and se >= 0  # two qubits hold at most one bit
    assert isinstance(load_run(tmp_path / "m"), mie.MieResult)
    # extending the grid by a depth keeps the old cells' numbers
    bigger = mie.run(mie.MieSettings(qubits=4, depths="0..3", rates="0,1", circuits=2, trajectories=2),
                     _how(tmp_path / "m"))
    assert [row for row in bigger.table if row["depth"] <= 2] == r.table


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"qubits": 2}, "qubits"), ({"depths": "3..1"}, "depths"), ({"rates": "0..2"}, "rates"),
    ({"pair": "0,0"}, "pair"), ({"pair": "0,9"}, "pair"), ({"circuits": 1}, "circuits"),
    ({"geometry": "ring"}, "geometry"), ({"learn": True, "records": 10}, "records"),
])
def test_mie_settings_name_the_parameter(kwargs, param):
    with pytest.raises(SettingError) as exc:
        mie.MieSettings(**kwargs).validate()
    assert exc.value.param == param


def test_plans_have_no_side_effects(tmp_path):
    p = tables.plan(tables.ExpressibilitySettings(qubits=3, layers="1..3"), How(out=tmp_path / "x"))
    assert p.items == 3 and not (tmp_path / "x").exists()
    assert mie.plan(mie.MieSettings(qubits=4, depths="1..2", rates="0,0.5")).items == 4
    assert power.plan(power.PowerSettings(gate="CZ")).items == 1
