"""Attribute edits on the Qt-free layer: type checks, field names, set_values/add_field/delete_field."""
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal
from shapely.geometry import Point

from riskmap.errors import ParameterError
from riskmap.layers import VectorLayer
from riskmap.layers.fields import (
    FieldValueError,
    check_new_name,
    convert_values,
    edit_text,
    empty_column,
    kind_of,
    parse_text,
    put_values,
)


@pytest.fixture
def layer():
    gdf = gpd.GeoDataFrame({"id": [1, 2, 3], "name": ["甲", "乙", "丙"], "dist": [500.0, np.nan, 800.0],
                            "ok": [True, False, True], "when": pd.to_datetime(["2024-01-05", None, "2023-12-31"])},
                           geometry=[Point(114.0, 32.0), Point(114.1, 32.1), Point(114.2, 32.2)], crs=4490)
    return VectorLayer(gdf, "企业")


@pytest.mark.parametrize("text, dtype, value", [
    ("42", "int64", 42), (" -7 ", "int32", -7), ("", "int64", None), ("1.5", "float64", 1.5),
    ("1e3", "float64", 1000.0),
    ("是", "bool", True), ("false", "bool", False), ("2024-03-15", "datetime64[ms]", pd.Timestamp(2024, 3, 15)),
    ("2024年3月5日", "datetime64[ns]", pd.Timestamp(2024, 3, 5)),
    ("2024/3/5 08:30", "datetime64[ms]", pd.Timestamp(2024, 3, 5, 8, 30)), ("  a b ", "str", "  a b "),
    ("x", "object", "x"),
])
def test_parse_text_accepts_values_of_the_field_type(text, dtype, value):
    dtype = pd.Series([], dtype=dtype).dtype
    assert parse_text(text, dtype, "f") == value


@pytest.mark.parametrize("text, dtype, said", [
    ("abc", "int64", "不是整数"), ("1.5", "Int64", "不是整数"), ("3000000000", "int32", "超出范围"),
    ("五", "float64", "不是数字"), ("nan", "float64", "不是数字"), ("1e999", "float64", "超出范围"),
    ("maybe", "bool", "不是“是”或“否”"), ("15.03.2024", "datetime64[ms]", "不是日期"),
    ("2024-02-30", "datetime64[ms]", "不是有效日期"),
])
def test_parse_text_refuses_other_types_with_one_line(text, dtype, said):
    dtype = pd.Series([], dtype=dtype).dtype
    with pytest.raises(FieldValueError) as info:
        parse_text(text, dtype, "f")
    message = str(info.value)
    assert said in message and "“f”" in message and "\n" not in message and "原值未改" in message


def test_kinds_and_edit_text():
    assert [kind_of(pd.Series([], dtype=d).dtype) for d in ("int64", "Int64", "float32", "str", "object", "bool",
                                                              "boolean", "datetime64[ms]")] == \
        ["int", "int", "float", "str", "str", "bool", "bool", "date"]
    assert edit_text(np.float64(0.1 + 0.2)) == "0.30000000000000004"  # full precision for editing
    assert edit_text(np.datetime64("2024-03-15T00:00")) == "2024-03-15"
    assert edit_text(pd.Timestamp("2024-03-15 08:30")) == "2024-03-15 08:30:00"
    assert edit_text(np.nan) == "" and edit_text(pd.NA) == "" and edit_text(None) == ""


@pytest.mark.parametrize("name, said", [("NAME", "已有字段“name”"), ("Geometry", "保留名"), ("FID", "保留名"), ("", "请输入"),
                                        ("a" * 64, "过长"), ('a"b', "双引号")])
def test_new_field_names_are_checked(layer, name, said):
    with pytest.raises(ParameterError, match=said):
        check_new_name(name, layer.gdf.columns)


def test_set_values_replaces_the_frame_and_tells_the_views(layer):
    before = layer.gdf
    seen = []

    def on_data(**kw):
        seen.append(kw)

    layer.events.data_changed.connect(on_data)
    revision = layer.revision
    layer.set_values([1], "dist", [650.0])
    assert layer.gdf["dist"].tolist()[1] == 650.0 and math.isnan(before["dist"].iat[1])  # old frame untouched
    assert layer.gdf is not before and seen == [{"layer": layer, "fields": ["dist"]}] and layer.revision > revision
    assert layer.display_geoms is not None and len(layer.gdf) == 3
    with pytest.raises(ParameterError):
        layer.set_values([3], "dist", [1.0])
    with pytest.raises(ParameterError):
        layer.set_values([0], "nope", [1.0])


def test_put_values_and_undo_restore_the_exact_column():
    col = pd.Series([1, 2, 3], dtype="int64")
    nulled = put_values(col, [0], [None])
    assert str(nulled.dtype) == "Int64" and nulled.isna().tolist() == [True, False, False]
    old = col.iloc[[0]].array
    assert_series_equal(put_values(nulled, [0], old, dtype=col.dtype), col)
    flags = pd.Series([True, False])
    assert str(put_values(flags, [1], [None]).dtype) == "boolean"
    text = pd.Series(["a", None, "c"], dtype="str")
    assert_series_equal(put_values(put_values(text, [1], ["b"]), [1], text.iloc[[1]].array, dtype=text.dtype), text)


def test_add_and_delete_field_put_it_back_in_place(layer):
    original = layer.gdf.copy()
    layer.add_field("备注", empty_column("str", 3))
    assert layer.fields[-1] == "备注" and layer.gdf.columns[-1] == "geometry"
    position, column = layer.delete_field("name")
    assert position == 1 and "name" not in layer.fields
    layer.add_field("name", column, position=position)
    layer.delete_field("备注")
    assert_frame_equal(layer.gdf, original)
    with pytest.raises(ParameterError, match="已有字段"):
        layer.add_field("ID", empty_column("int", 3))
    with pytest.raises(ParameterError):
        layer.add_field("x", [1, 2])


def test_convert_values_for_the_calculator():
    assert convert_values(pd.Series([1.0, np.nan, 3.0]), "int", "n").tolist()[::2] == [1, 3]
    assert str(convert_values(pd.Series([1.0, np.nan]), "int", "n").dtype) == "Int64"
    with pytest.raises(ParameterError, match="“2.5”不是整数"):
        convert_values(pd.Series([1.0, 2.5]), "int", "n")
    with pytest.raises(ParameterError, match="“abc”不是数字"):
        convert_values(pd.Series(["1", "abc"], dtype=object), "float", "x")
    assert convert_values(pd.Series([3.0, 2.5, np.nan]), "str", "s").tolist()[:2] == ["3", "2.5"]
    dates = convert_values(pd.Series(["2024-03-15", None], dtype=object), "date", "d")
    assert dates.iloc[0] == pd.Timestamp("2024-03-15") and pd.isna(dates.iloc[1])
