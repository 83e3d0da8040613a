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


# -- designs of any rank ---------------------------------------------------------------------------
from probe.experiments.bell.counts_file import read_system_counts_csv  # noqa: E402
from probe.experiments.bell.design import load_system_file, parse_contexts_spec  # noqa: E402

RANK6 = """schema = 1
name = "r6"
concept = "The Animal Acts"
system = "cyclic"
modelled_on = "a test"
contexts = [["A1", "B1"], ["A2", "B1"], ["A2", "B2"], ["A3", "B2"], ["A3", "B3"], ["A1", "B3"]]
[measurements.A1]
plus = "Horse"
minus = "Bear"
[measurements.A2]
plus = "Tiger"
minus = "Cat"
[measurements.A3]
plus = "Wolf"
minus = "Dog"
[measurements.B1]
plus = "Growls"
minus = "Whinnies"
[measurements.B2]
plus = "Snorts"
minus = "Meows"
[measurements.B3]
plus = "Howls"
minus = "Barks"
[prompt]
templates = ["Pick one:\\n{options}\\nWhich is a good example of \\"{concept}\\"?"]
"""


@pytest.mark.parametrize("name", ["animal-acts-rank6", "snow-queen-rank6"])
def test_rank_6_designs_load_as_cyclic_systems(name):
    d = load_design(name)
    assert d.rank == 6 and d.system_kind == "cyclic" and d.modelled_on
    system = d.context_system()
    assert system.is_cyclic and system.names == d.contexts
    for c in d.contexts:
        assert len({s for *_, s in d.cells(c)}) == 4
    for t in d.templates:
        assert not any(w in t.lower() for w in ("quantum", "bell", "chsh", "entangle", "contextual"))


def test_the_rank_4_design_is_unchanged():
    d = load_design("animal-acts")
    assert d.system_kind == "chsh" and d.contexts == ("AB", "AB'", "A'B", "A'B'")
    assert "rank" not in d.to_dict()  # the result.json block of rank-4 runs keeps its keys
    assert d.context_system().contents == ("A", "A'", "B", "B'")


def test_rank_4_cassette_keys_do_not_move():
    """The request of the first trial of each context, as the shipped cassettes recorded it."""
    from probe.experiments.bell.trials import BellSettings, build_jobs
    from probe.providers import parse_model

    jobs = build_jobs(load_design("animal-acts"), parse_model("sim:quantum"), BellSettings(trials=2, seed=0))
    assert [j.meta["context"] for j in jobs] == ["AB", "AB", "AB'", "AB'", "A'B", "A'B", "A'B'", "A'B'"]
    assert [o.text for o in jobs[2].request.choice.options] == [
        ["The Horse Snorts", "The Horse Meows", "The Bear Snorts", "The Bear Meows"][i] for i in jobs[2].meta["order"]]


@pytest.mark.parametrize("patch,message", [
    (lambda s: s.replace('["A1", "B3"]]', '["A1", "B2"]]'), "the cycle does not close"),
    (lambda s: s.replace('["A3", "B3"]', '["A3", "B9"]'), "unknown measurement 'B9'"),
    (lambda s: s.replace('system = "cyclic"', 'system = "ring"'), "system:"),
    (lambda s: s.replace('["A1", "B1"], ', '["A1"], '), "expected [first, second]"),
    (lambda s: s.replace('contexts = [', 'contexts = [' + '["A1", "B1"], ' * 9), "rank 10 at most"),
    (lambda s: s.replace('modelled_on = "a test"', 'modelled_on = 3'), "modelled_on"),
])
def test_malformed_rank_n_designs_name_file_line_and_field(tmp_path, patch, message):
    path = tmp_path / "bad.toml"
    path.write_text(patch(RANK6))
    with pytest.raises(ConfigError) as err:
        load_design(str(path))
    text = str(err.value)
    assert f"{path}:" in text and message in text
    if "contexts" in text.split(":", 3)[-1][:40]:
        assert f"{path}:6:" in text  # the line of `contexts = [...]`


def test_a_general_pairwise_design_may_leave_the_cycle_open(tmp_path):
    path = tmp_path / "open.toml"
    path.write_text(RANK6.replace('["A1", "B3"]]', '["A1", "B2"]]').replace('system = "cyclic"', 'system = "general"'))
    d = load_design(str(path))
    assert d.system_kind == "general" and not d.context_system().is_cyclic


def test_system_files_and_context_specs():
    pm = load_system_file("peres-mermin")
    assert len(pm.contents) == 9 and pm.n_contexts == 6 and pm.n_cells == (8,) * 6
    s = parse_contexts_spec("cyclic:6")
    assert s.names == ("Q1Q2", "Q2Q3", "Q3Q4", "Q4Q5", "Q5Q6", "Q6Q1")
    for bad in ("cyclic:2", "cyclic:x", "ring:6", "cyclic:11"):
        with pytest.raises(ConfigError, match="--contexts"):
            parse_contexts_spec(bad)


def test_bad_system_file_names_file_and_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('schema = 1\nmeasurements = ["A", "B"]\ncontexts = [["A", "C"]]\n')
    with pytest.raises(ConfigError, match=rf"{path}:3: contexts\[0\]: unknown measurement"):
        load_system_file(str(path))


def test_counts_for_any_system(tmp_path):
    system = parse_contexts_spec("cyclic:3")
    path = tmp_path / "c.csv"
    path.write_text("context,a,b,count\nQ1Q2,+,+,4\nQ2Q3,-,+,2\nQ3Q1,-,-,1\nQ1Q2,+,+,1\n")
    data = read_system_counts_csv(path, system)
    assert data.stacked().tolist() == [[5, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]
    pm = load_system_file("peres-mermin")
    rows = ["context,outcome,count"] + [f"{n},+++,3" for n in pm.names]
    (tmp_path / "pm.csv").write_text("\n".join(rows) + "\n")
    assert [t[0] for t in read_system_counts_csv(tmp_path / "pm.csv", pm).tables] == [3] * 6


@pytest.mark.parametrize("body,message", [
    ("context,a,b,count\nQ1Q2,+,+,1\nQ2Q3,+,+,1\nQ3Q4,+,+,1\n", ":4: context: 'Q3Q4' is not a context of the design"),
    ("context,a,b,count\nQ1Q2,+,+,1\nQ2Q3,+,+,1\n", "no answers for context(s) Q3Q1"),
    ("context,outcome,count\nQ1Q2,+++,1\n", ":2: outcome"),
    ("ctx,a,b,count\n", ":1: header"),
])
def test_counts_that_do_not_match_the_design(tmp_path, body, message):
    path = tmp_path / "c.csv"
    path.write_text(body)
    with pytest.raises(DataError) as err:
        read_system_counts_csv(path, parse_contexts_spec("cyclic:3"))
    assert message in str(err.value)
