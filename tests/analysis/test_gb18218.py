import math
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
    assert g.unreadable == ["液氯"]  # no quantity: reported, not read as 0
    assert g.lower_bound and math.isnan(g.S) is False


def test_a_text_with_nothing_readable_is_not_s_zero():
    g = gb18218.grade_inventory("液氯若干", 10)
    assert math.isnan(g.S) and g.grade_text == "储量无法读取" and g.unreadable == ["液氯若干"]


@pytest.mark.parametrize("name, beta, why", [
    ("1,2-环氧丙烷", 1.5, "flammable liquid cat. 1 → W5.1 → β 1.5 (Table 4)"),
    ("乙醚", 1.5, "W5.1 → 1.5"),
    ("氟", 4.0, "acutely toxic gas cat. 1 (J1 → 4) and oxidising gas (W4 → 1): the largest"),
    ("砷化氢", 2.0, "flammable gas W2 (1.5) and acutely toxic gas J3 (2): the largest"),
    ("甲苯", 1.0, "flammable liquid cat. 2 → W5.3 → 1"),
    ("氯", 4.0, "Table 3 wins over Table 4"),
])
def test_beta_of_table1_substances_from_their_categories(name, beta, why):
    assert gb18218.lookup(name).beta == beta, why


def test_beta_and_grade_by_hand_for_substances_outside_table3():
    # 1,2-环氧丙烷 20 t (Q 10, β 1.5) + 乙醚 5 t (Q 10, β 1.5): S = 2.5, Σβq/Q = 3.75; 40 people → α 1.2;
    # R = 4.5 → 四级
    g = gb18218.grade_inventory("1,2-环氧丙烷 20吨、乙醚5t", 40)
    assert g.S == pytest.approx(2.5) and g.beta_sum == pytest.approx(3.75)
    assert g.alpha == 1.2 and g.R == pytest.approx(4.5) and g.grade_text == "四级" and not g.lower_bound
    # an unknown substance beside them makes the grade a lower bound
    g = gb18218.grade_inventory("1,2-环氧丙烷:20;某助剂:3", 40)
    assert g.lower_bound and g.grade_text == "≥四级" and g.unknown == ["某助剂"]


def test_ambiguous_names_on_the_strictest_row_when_asked():
    plain = gb18218.grade_inventory("硝酸铵:10", 0)
    assert plain.S == 0 and plain.unknown and plain.lower_bound
    strict = gb18218.grade_inventory("硝酸铵:10", 0, conservative=True)
    # 硝酸铵（含可燃物>0.2%）Q = 5 t → S = 2, W1.1 → β 2; α 0.5 → R = 2
    assert strict.S == pytest.approx(2.0) and strict.R == pytest.approx(2.0)
    assert strict.conservative == ["硝酸铵→硝酸铵（含可燃物>0.2%）"]


@pytest.mark.parametrize("text, expected", [
    ("液氯:30;液氨:15", [("液氯", 30.0), ("液氨", 15.0)]),
    ("液氯30吨、液氨15吨", [("液氯", 30.0), ("液氨", 15.0)]),
    ("液化石油气 50t", [("液化石油气", 50.0)]),
    ("氯气 30 t，氨 15t", [("氯气", 30.0), ("氨", 15.0)]),
    ("30吨液氯", [("液氯", 30.0)]),
    ("液氨 500kg", [("液氨", 0.5)]),
    ("汽油 100立方米", [("汽油", 74.0)]),  # 0.74 t/m³
    ("1,3-丁二烯:5, 苯:2", [("1,3-丁二烯", 5.0), ("苯", 2.0)]),
])
def test_stock_amounts_as_people_write_them(text, expected):
    entries, problems = gb18218.parse_inventory(text)
    assert problems == [] and [(n, pytest.approx(q)) for n, q in entries] == expected


def test_a_volume_without_a_known_density_is_reported():
    entries, problems = gb18218.parse_inventory("天然气 2000方")
    assert entries == [] and "体积无法换算" in problems[0]


def test_overrides():
    g2 = gb18218.grade_inventory("甲醇:1000", 0, beta_overrides={"甲醇": 1.5})
    assert g2.R == pytest.approx(0.5 * 2 * 1.5)
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
