"""Scenario files, built-in scenarios and sweep designs (compilation, not runs)."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.inputs.defaults import KENT_PARAMETERS
from sendsim.inputs.errors import InputError
from sendsim.inputs.kent import assumptions, derive, derive_scenarios
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.inputs.scenarios import BUILTIN_DIR, builtin_names, builtin_path, load_scenario
from sendsim.inputs.sweeps import load_sweep
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

CALENDAR = Calendar(2024, 1, 51)
ROWS = read_parameter_rows(KENT_PARAMETERS)
BASE = build_parameter_set(ROWS, CALENDAR)


def compiled(name_or_path):
    path = builtin_path(name_or_path) if isinstance(name_or_path, str) else name_or_path
    scenario = load_scenario(path, ROWS, CALENDAR)
    return scenario, build_parameter_set(ROWS + scenario.rows, CALENDAR)


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_builtin_scenarios_regenerate_exactly():
    texts = derive_scenarios.scenario_texts()
    assert sorted(texts) == builtin_names()
    for name, text in texts.items():
        assert (BUILTIN_DIR / f"{name}.toml").read_text() == text, name


def test_every_builtin_compiles_and_equals_the_base_before_its_levers():
    for name in builtin_names():
        scenario, ps = compiled(name)
        first = scenario.first_effective()
        until = CALENDAR.n_months if first is None else CALENDAR.month_index(*first)
        for parameter in ps:
            for m in range(until):
                np.testing.assert_array_equal(ps[parameter].at_month(m), BASE[parameter].at_month(m),
                                              err_msg=f"{name} {parameter} month {m}")


def test_assessment_tightening_reversed_sets_the_march_2023_rate():
    _, ps = compiled("assessment_tightening_reversed")
    assert ps["p_assess"].at_month(CALENDAR.month_index(2024, 4)) == pytest.approx(
        derive.derivation().local.value("yes_to_assess_2023_03") / 100)
    assert ps["p_assess"].at_month(2) == BASE["p_assess"].at_month(2)


def test_special_school_scenarios_hold_against_later_base_changes():
    _, none = compiled("no_new_special_schools")
    _, third = compiled("third_special_school")
    commissioned = derive.derivation().local.value("special_places_commissioned")
    for m in range(CALENDAR.n_months):
        assert none["places"].at_month(m)[codes.SPECIAL] == commissioned
        base = BASE["places"].at_month(m)[codes.SPECIAL]
        assert third["places"].at_month(m)[codes.SPECIAL] - base in (0, 67, 133, 200)
    assert third["places"].at_month(CALENDAR.n_months - 1)[codes.SPECIAL] == BASE["places"].at_month(
        CALENDAR.n_months - 1)[codes.SPECIAL] + assumptions.NEW_SPECIAL_SCHOOL_PLACES


def test_reintegration_at_the_england_rate():
    _, ps = compiled("reintegration_england_rate")
    annual, _ = derive_scenarios._england_reintegration_annual_rate()
    move = ps["move"].at_month(CALENDAR.month_index(2024, 6))
    base = BASE["move"].at_month(CALENDAR.month_index(2024, 6))
    school = [a for a in range(codes.N_AGES) if base[a, codes.SPECIAL, codes.MAINSTREAM] > 0]
    assert school
    np.testing.assert_allclose(1 - (1 - move[school, codes.SPECIAL, codes.MAINSTREAM]) ** 12, annual, rtol=1e-8)
    assert move[school, codes.SPECIAL, codes.MAINSTREAM].mean() > 3 * base[school, codes.SPECIAL,
                                                                            codes.MAINSTREAM].mean()
    np.testing.assert_allclose(move.sum(axis=-1), 1.0)  # the stay probability follows


def test_generic_parameter_rows_and_inheritance(tmp_path):
    path = write(tmp_path, '''
name = "mine"
base = "third_special_school"
[[parameter]]
parameter = "review_cease"
age = "19-24"
from = "2025-04"
value = 0.4
''')
    scenario, ps = compiled(path)
    _, third = compiled("third_special_school")
    np.testing.assert_array_equal(ps["places"].values, third["places"].values)
    assert (ps["review_cease"].at_month(CALENDAR.month_index(2025, 4))[19:25] == 0.4).all()
    assert scenario.first_effective() == (2025, 4)


@pytest.mark.parametrize("text,message", [
    ('name = "x"\ncolour = "red"\n', "unknown key"),
    ('colour = "red"\n', "unknown key"),
    ('description = "no name"\n', "missing key 'name'"),
    ('name = "../etc"\n', "letters, digits"),
    ('name = "x"\n[levers.teleport]\nfrom = "2024-04"\nvalue = 1\n', "unknown lever"),
    ('name = "x"\n[levers.decision_to_assess]\nfrom = "2024-04"\nvalue = 1.4\n', "out of range"),
    ('name = "x"\n[levers.decision_to_assess]\nfrom = "April"\nvalue = 0.4\n', "YYYY-MM"),
    ('name = "x"\n[levers.decision_to_assess]\nfrom = "2024-04"\n', "missing key"),
    ('name = "x"\n[levers.decision_to_assess]\nfrom = "2024-04"\nvalue = 0.4\nspeed = 2\n', "unknown key"),
    ('name = "x"\n[levers.special_places]\nopenings = [{ from = "2025-09", add = -99999 }]\n', "below zero"),
    ('name = "x"\n[levers.special_places]\nopenings = [{ from = "2025-09", add = 5, places = 9 }]\n', "exactly one"),
    ('name = "x"\n[levers.reintegration]\nfrom = "2024-04"\n', "exactly one"),
    ('name = "x"\n[[parameter]]\nparameter = "p_asess"\nvalue = 0.1\n', "unknown parameter"),
    ('name = "x"\n[[parameter]]\nparameter = "first_placement"\nto = "special"\nvalue = 0.9\n',
     "not valid"),  # the other destinations keep their shares: rows no longer sum to 1
    ('name = "x"\nbase = "nonesuch"\n', "no built-in scenario"),
    ('name = "x"\n[finance]\nblock_transfer = 0\n', "finance"),
    ('name = "x"\n[levers.decision_to_assess\n', "not valid TOML"),
])
def test_bad_scenarios_name_file_key_and_rule(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as error:
        load_scenario(path, ROWS, CALENDAR)
    assert str(path) in str(error.value)


def test_grid_sweep_has_every_combination(tmp_path):
    path = write(tmp_path, '''
name = "grid"
design = "grid"
[[factor]]
lever = "decision_to_assess"
from = "2024-04"
values = [0.3, 0.4, 0.5, 0.631]
[[factor]]
lever = "special_places"
from = "2025-09"
values = [0, 100, 200]
''', "sweep.toml")
    sweep = load_sweep(path)
    assert sweep.n_scenarios == 12
    assert {tuple(p) for p in sweep.points} == {(a, b) for a in (0.3, 0.4, 0.5, 0.631) for b in (0, 100, 200)}
    tables = list(sweep.scenario_tables())
    assert [t["name"] for t in tables][:2] == ["grid-0000", "grid-0001"]
    from sendsim.inputs.scenarios import compile_scenario
    scenario = compile_scenario(tables[5], str(path), ROWS, CALENDAR)
    ps = build_parameter_set(ROWS + scenario.rows, CALENDAR)
    assert ps["p_assess"].at_month(5) == sweep.points[5, 0]


def test_latin_hypercube_uses_each_stratum_once(tmp_path):
    path = write(tmp_path, '''
name = "lhs"
design = "latin_hypercube"
samples = 150
seed = 3
[[factor]]
lever = "decision_to_assess"
from = "2024-04"
low = 0.2
high = 0.7
[[factor]]
lever = "review_capacity"
from = "2024-06"
low = 1000
high = 3000
''', "sweep.toml")
    sweep = load_sweep(path)
    assert sweep.n_scenarios == 150
    for j, (low, high) in enumerate(((0.2, 0.7), (1000, 3000))):
        strata = np.floor((sweep.points[:, j] - low) / (high - low) * 150).astype(int)
        assert sorted(strata) == list(range(150))
    again = load_sweep(path)
    np.testing.assert_array_equal(sweep.points, again.points)


@pytest.mark.parametrize("text,message", [
    ('name = "s"\ndesign = "random"\n[[factor]]\nlever = "decision_to_assess"\nfrom = "2024-04"\nvalues=[1]\n',
     "unknown design"),
    ('name = "s"\ndesign = "grid"\n[[factor]]\nlever = "phase_transfer_mix"\nfrom = "2024-04"\nvalues=[1]\n',
     "cannot be swept"),
    ('name = "s"\ndesign = "grid"\n[[factor]]\nlever = "decision_to_assess"\nfrom = "2024-04"\nlow = 0\nhigh = 1\n',
     "values"),
    ('name = "s"\ndesign = "latin_hypercube"\n[[factor]]\nlever = "decision_to_assess"\nfrom = "2024-04"\n'
     'low = 0\nhigh = 1\n', "samples"),
])
def test_bad_sweeps(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_sweep(write(tmp_path, text, "sweep.toml"))
