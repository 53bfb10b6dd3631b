"""GB 18218-2018 tables and grading (values from STANDARDS.md §1)."""
import numpy as np
import pytest

from riskmap.analysis import gb18218
from riskmap.errors import ParameterError


def test_worked_example_so2_200t_60_people_is_grade_3():
    g = gb18218.grade_inventory("二氧化硫:200", 60)
    assert g.S == pytest.approx(10.0)
    assert g.alpha == 1.5
    assert g.R == pytest.approx(30.0)
    assert g.grade == "三级"
    assert g.major


@pytest.mark.parametrize("alias, canonical, q", [
    ("液氯", "氯", 5), ("氯气", "氯", 5), ("氯", "氯", 5), ("液氨", "氨", 10), ("氨", "氨", 10),
    ("天然气", "甲烷", 50), ("甲烷", "甲烷", 50), ("光气", "碳酰氯", 0.3), ("电石气", "乙炔", 1),
    ("氧气", "氧", 200), ("甲醇", "甲醇", 500), ("汽油", "汽油", 200), ("苯", "苯", 50),
    (" 液 氯 ", "氯", 5), ("ＬＰＧ", "液化石油气", 50),
])
def test_aliases_find_table1_rows(alias, canonical, q):
    sub = gb18218.lookup(alias)
    assert sub is not None and sub.name == canonical and sub.q_critical == q


def test_table3_beta_values():
    expected = {"一氧化碳": 2, "二氧化硫": 2, "氨": 2, "环氧乙烷": 2, "氯化氢": 3, "溴甲烷": 3, "氯": 4,
                "硫化氢": 5, "氟化氢": 5, "二氧化氮": 10, "氰化氢": 10, "光气": 20, "磷化氢": 20, "异氰酸甲酯": 20}
    for name, beta in expected.items():
        assert gb18218.lookup(name).beta == beta, name
        assert gb18218.lookup(name).kind == gb18218.TOXIC_GAS


def test_flammable_gas_beta_from_table4_and_categories():
    assert gb18218.lookup("天然气").beta == 1.5
    assert gb18218.lookup("W2").q_critical == 10 and gb18218.lookup("W2").beta == 1.5
    assert gb18218.lookup("J1").q_critical == 5 and gb18218.lookup("J1").beta == 4
    assert gb18218.lookup("w5.3").q_critical == 1000


def test_alpha_table5_boundaries():
    people = [0, 0.4, 1, 29, 30, 49, 50, 99, 100, 5000]
    alpha = gb18218.alpha_for_population(people)
    np.testing.assert_array_equal(alpha, [0.5, 0.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 2.0, 2.0])


def test_grade_table6_boundaries():
    grades = gb18218.grade_for_r([0, 9.99, 10, 49.99, 50, 99.99, 100, 1e6])
    assert list(grades) == ["四级", "四级", "三级", "三级", "二级", "二级", "一级", "一级"]


def test_mixture_sums_ratios_and_betas():
    # 液氯 2.5 t (q/Q = .5, β 4) + 液氨 5 t (.5, β 2), 120 people → α 2: R = 2 (2 + 1) = 6
    g = gb18218.grade_inventory("液氯:2.5；液氨：5吨", 120)
    assert g.S == pytest.approx(1.0) and g.major
    assert g.R == pytest.approx(6.0)
    assert g.grade == "四级"
    assert g.recognised == ["氯", "氨"]


def test_below_threshold_is_not_a_major_hazard():
    g = gb18218.grade_inventory("液氯:1", 500)
    assert g.S == pytest.approx(0.2)
    assert not g.major and g.grade == ""


def test_unknown_and_ambiguous_names_are_reported_not_guessed():
    g = gb18218.grade_inventory("神秘物质:5;硝酸:100;液氯", 10)
    assert g.S == 0 and g.R == 0
    assert "神秘物质" in g.unknown
    assert any(u.startswith("硝酸（") for u in g.unknown)
    assert any("液氯" in u for u in g.unknown)  # no quantity


def test_default_beta_and_overrides():
    g = gb18218.grade_inventory("甲醇:1000", 0)
    assert g.default_beta == ["甲醇"] and g.R == pytest.approx(0.5 * 2 * 1.0)
    g2 = gb18218.grade_inventory("甲醇:1000", 0, beta_overrides={"甲醇": 1.5})
    assert g2.R == pytest.approx(0.5 * 2 * 1.5) and g2.default_beta == []
    with pytest.raises(ParameterError):
        gb18218.check_overrides({"不存在": 2})
    with pytest.raises(ParameterError):
        gb18218.check_overrides({"甲醇": -1})


def test_parse_inventory_separators_and_blanks():
    entries, problems = gb18218.parse_inventory("液氯:5, 液氨=20t；汽油 : 3.5 、苯:1")
    assert entries == [("液氯", 5.0), ("液氨", 20.0), ("汽油", 3.5), ("苯", 1.0)]
    assert problems == []
    assert gb18218.parse_inventory(None) == ([], [])
    assert gb18218.parse_inventory(float("nan")) == ([], [])
