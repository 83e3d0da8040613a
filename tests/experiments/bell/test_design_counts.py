"""Experiment definitions and counts CSV files: valid ones load, broken ones get one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from probe.errors import ConfigError, DataError
from probe.experiments.bell.counts_file import read_counts_csv
from probe.experiments.bell.design import load_design

GOOD = """schema = 1
name = "t"
concept = "The Animal Acts"
[measurements.A]
plus = "Horse"
minus = "Bear"
[measurements."A'"]
plus = "Tiger"
minus = "Cat"
[measurements.B]
plus = "Growls"
minus = "Whinnies"
[measurements."B'"]
plus = "Snorts"
minus = "Meows"
[prompt]
templates = ["Pick one:\\n{options}\\nWhich is a good example of \\"{concept}\\"?"]
"""


@pytest.mark.parametrize("name", ["animal-acts", "vehicle-moves", "instrument-sounds"])
def test_shipped_designs_load(name):
    d = load_design(name)
    assert d.name == name
    assert len(d.labels) == 4
    cells = d.cells("A'B'")
    assert [c[2:4] for c in cells] == [(1, 1), (1, -1), (-1, 1), (-1, -1)]


def test_animal_acts_matches_the_paper():
    d = load_design("animal-acts")
    assert d.measurements == {"A": ("Horse", "Bear"), "A'": ("Tiger", "Cat"), "B": ("Growls", "Whinnies"),
                              "B'": ("Snorts", "Meows")}
    assert d.minus_on == "AB"
    assert d.cells("AB")[1][4] == "The Horse Whinnies"
    for t in d.templates:  # no demand characteristics
        assert not any(w in t.lower() for w in ("quantum", "bell", "chsh", "entangle"))


@pytest.mark.parametrize("patch,message", [
    (lambda s: s.replace('plus = "Tiger"', 'plus = "Tiger'), "invalid TOML"),
    (lambda s: s.replace('[measurements.B]\nplus = "Growls"\n', "[measurements.B]\n"), "measurements.B.plus: missing"),
    (lambda s: s.replace('name = "t"', 'name = "Bad Name"'), "name:"),
    (lambda s: s.replace("{options}", "{opts}"), "prompt.templates"),
    (lambda s: s.replace('minus = "Cat"', 'minus = "Tiger"'), "two different"),
    (lambda s: s.replace("schema = 1", "schema = 9"), "schema"),
    (lambda s: s.replace('[measurements."A\'"]', '[measurements.C]'), "unknown setting"),
])
def test_malformed_designs_name_file_and_field(tmp_path, patch, message):
    path = tmp_path / "bad.toml"
    path.write_text(patch(GOOD))
    with pytest.raises(ConfigError) as err:
        load_design(str(path))
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_counts_csv_round_trip(tmp_path):
    path = tmp_path / "human.csv"
    path.write_text("experiment,a,b,count\nAB,+,+,10\nAB,+,-,30\nAB’,-,-,5\nAB',+,+,7\nA'B,+,+,12\n"
                    "A'B,-,-,3\nA'B',+,+,1\nA'B',-,-,9\nAB,+,+,2\n")
    data = read_counts_csv(path)
    assert data.counts[0, 0, 0] == 12  # repeated rows add up
    assert data.counts[1].sum() == 12
    assert data.products is None


@pytest.mark.parametrize("body,message", [
    ("exp,a,b,count\n", ":1: header lacks column(s) experiment"),
    ("experiment,a,b,count\nAC,+,+,1\n", ":2: experiment"),
    ("experiment,a,b,count\nAB,x,+,1\n", ":2: a:"),
    ("experiment,a,b,count\nAB,+,+,-3\n", ":2: count"),
    ("experiment,a,b,count\nAB,+,+,two\n", ":2: count"),
    ("experiment,a,b,count\nAB,+,+,1\n", "no answers for context"),
    ("experiment,a,b,count\n", "no data rows"),
])
def test_malformed_counts_name_line_and_field(tmp_path, body, message):
    path = tmp_path / "c.csv"
    path.write_text(body)
    with pytest.raises(DataError) as err:
        read_counts_csv(path)
    assert message in str(err.value)


def test_within_subject_file(tmp_path):
    rows = ["respondent,experiment,a,b,count"]
    rng = np.random.default_rng(0)
    for r in range(30):
        for ctx in ("AB", "AB'", "A'B", "A'B'"):
            a, b = rng.choice(["+", "-"], size=2)
            rows.append(f"p{r},{ctx},{a},{b},1")
    path = tmp_path / "w.csv"
    path.write_text("\n".join(rows) + "\n")
    data = read_counts_csv(path)
    assert data.products.shape == (30, 4)
    assert data.counts.sum() == 120
