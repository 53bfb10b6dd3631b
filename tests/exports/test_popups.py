"""Popup field choice and the personal-data filter (riskmap.exports.popups), on hand-made frames."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from riskmap.exports.html import vector_spec
from riskmap.exports.popups import (REDACTED, choose_fields, format_values, is_personal_name, looks_personal,
                                    redact, split_unit)
from riskmap.layers import VectorLayer


def _layer(columns: dict, aliases=None, provenance=None):
    n = len(next(iter(columns.values())))
    gdf = gpd.GeoDataFrame(columns, geometry=shapely.points(np.linspace(114, 114.1, n), np.full(n, 32.0)), crs=4490)
    layer = VectorLayer(gdf, "测试")
    layer.aliases = dict(aliases or {})
    if provenance:
        layer.provenance = provenance
    return layer


@pytest.mark.parametrize("name,alias", [
    ("联系人", None), ("lxdh", None), ("contact_phone", None), ("Tel", None), ("mobile", None), ("email", None),
    ("id_card", None), ("IDCard", None), ("c7", "负责人"), ("c8", "法人代表"), ("c9", "手机号码"), ("c10", "身份证号"),
    ("c11", "联系方式"), ("c12", "邮箱"), ("legal_person", None), ("contactName", None)])
def test_personal_names(name, alias):
    assert is_personal_name(name, alias)


@pytest.mark.parametrize("name,alias", [("name", "企业名称"), ("hotel", None), ("county", "所在县区"),
                                        ("telecom_tower", None), ("industry", "行业类别"), ("safe_dist", None),
                                        ("identity_level", None), ("chemicals", "危险化学品(t)")])
def test_ordinary_names(name, alias):
    assert not is_personal_name(name, alias)


def test_values_that_look_like_phones_or_ids():
    import pandas as pd

    assert looks_personal(pd.Series(["13812345678", "15900001111", None]))
    assert looks_personal(pd.Series([13812345678, 15900001111]))  # read as numbers from a sheet
    assert looks_personal(pd.Series(["0376-6201234", "037662012345"]))
    assert looks_personal(pd.Series(["411502199001011234", "41150219850512123X"]))
    assert looks_personal(pd.Series(["a@b.cn", "x.y@z.com.cn"]))
    assert not looks_personal(pd.Series(["液氯:5;液氨:20", "G312 K12+300", "2023-05-01"]))
    assert not looks_personal(pd.Series([411502, 411503, 32.0123456789]))  # codes and coordinates
    assert not looks_personal(pd.Series(["91411500MA44XXXX1A", "厂区"]))  # a credit code is not an ID number
    assert redact("值班电话0376-6201234，手机13812345678") == f"值班电话{REDACTED}，手机{REDACTED}"


def test_input_layer_fields_aliases_units_rounding_and_no_personal_data():
    layer = _layer({
        "name": ["甲化工", "乙化工"], "industry": ["hazchem", "fireworks"], "safe_dist": [512.4, np.nan],
        "stock": [12.3456, 0.012345], "lxr": ["张三", "李四"], "phone_no": ["13812345678", "13900000000"],
        "note": ["联系13812345678", "无"], "raw_code": ["A1", "B2"], "储量(吨)": [5.0, 7.25],
        "mystery": ["13812345678", "15912345678"], "号码": ["13812345678", "0376-6201234"], "empty": [None, None]},
        aliases={"name": "企业名称", "industry": "行业类别", "safe_dist": "安全防护距离(m)", "stock": "储量(t)",
                 "lxr": "联系人", "note": "备注"})
    chosen = choose_fields(layer, lang="zh")
    names = [pf.field for pf in chosen]
    assert names[0] == "name"
    assert set(names) == {"name", "industry", "safe_dist", "stock", "note", "储量(吨)"}
    # no raw English name is ever a label; units come out of the alias
    labels = {pf.field: (pf.label, pf.unit) for pf in chosen}
    assert labels["safe_dist"] == ("安全防护距离", "m") and labels["stock"] == ("储量", "t")
    assert labels["储量(吨)"] == ("储量(吨)", "") or labels["储量(吨)"][0] == "储量"
    assert all(label.isascii() is False for label, _unit in labels.values())
    by = {pf.field: pf for pf in chosen}
    assert format_values(layer.gdf["safe_dist"], by["safe_dist"]) == ["512 m", ""]
    assert format_values(layer.gdf["stock"], by["stock"]) == ["12.3 t", "0.0123 t"]
    assert format_values(layer.gdf["industry"], by["industry"]) == ["危险化学品", "烟花爆竹"]
    assert format_values(layer.gdf["note"], by["note"]) == [f"联系{REDACTED}", "无"]
    # ticked: the personal fields come back, unredacted
    ticked = [pf.field for pf in choose_fields(layer, include_personal=True, lang="zh")]
    assert {"lxr", "note", "号码"} <= set(ticked) and "phone_no" in ticked
    note = next(pf for pf in choose_fields(layer, include_personal=True, lang="zh") if pf.field == "note")
    assert format_values(layer.gdf["note"], note, include_personal=True)[0] == "联系13812345678"


def test_declared_result_table_names_units_digits_and_value_labels():
    layer = _layer({"name": ["甲", "乙"], "safe_dist": [512.44, 800.0], "dense_km2": [0.123456, 2.0],
                    "relocate": [True, False], "contact": ["张三", "李四"], "internal_x": [1.5, 2.5]},
                   aliases={"name": "企业名称"}, provenance={"analysis": "relocation"})
    chosen = choose_fields(layer, lang="zh")
    by = {pf.field: pf for pf in chosen}
    assert set(by) == {"name", "safe_dist", "dense_km2", "relocate"}  # declared columns only
    assert (by["safe_dist"].label, by["safe_dist"].unit, by["safe_dist"].digits) == ("防护距离", "m", 0)
    assert format_values(layer.gdf["safe_dist"], by["safe_dist"]) == ["512 m", "800 m"]
    assert format_values(layer.gdf["dense_km2"], by["dense_km2"]) == ["0.123 km²", "2.000 km²"]
    assert format_values(layer.gdf["relocate"], by["relocate"]) == ["是", "否"]
    english = {pf.field: pf.label for pf in choose_fields(layer, lang="en")}
    assert english["safe_dist"] == "Safety distance" and english["relocate"] == "Relocate"


def test_spec_leaves_personal_label_fields_and_values_out(tmp_path):
    layer = _layer({"lxr": ["张三", "李四"], "name": ["甲", "乙"], "tel": ["13812345678", "13900000000"]},
                   aliases={"lxr": "联系人"})
    layer.style.label_field = "lxr"
    spec = vector_spec(layer, 0)
    assert spec["fields"] == ["name"] and "labels" not in spec
    text = str(spec)
    assert "张三" not in text and "13812345678" not in text
    spec = vector_spec(layer, 0, include_personal=True)
    assert {"lxr", "tel"} <= set(spec["fields"]) and [lab[2] for lab in spec["labels"]] == ["张三", "李四"]


def test_split_unit():
    assert split_unit("安全防护距离(m)") == ("安全防护距离", "m")
    assert split_unit("总库容（万m³）") == ("总库容", "万m³")
    assert split_unit("企业名称") == ("企业名称", "")
    assert split_unit("县区(平桥区)") == ("县区(平桥区)", "")
