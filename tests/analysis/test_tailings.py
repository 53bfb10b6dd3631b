"""Tailings ponds: grade table (GB 39496-2020) and combination rule (GB 50863-2013 §3.2.1), 头顶库 on synthetic valleys."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import tailings_rules as rules
from riskmap.analysis.tailings import assess_tailings, grade_tailings
from riskmap.errors import CancelledError, EmptyLayerError, ParameterError

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0
DAM = (X0 + 1500, Y0)


# --- grade table -----------------------------------------------------------------------------------
@pytest.mark.parametrize("capacity, height, grade", [
    (20000, 150, 2),   # row 二: V ≥ 10000, H ≥ 100
    (10000, 100, 2),   # lower bounds are inclusive
    (5000, 80, 3),     # row 三: 1000 ≤ V < 10000, 60 ≤ H < 100
    (1000, 60, 3),
    (9999.9, 99.9, 3),
    (500, 45, 4),      # row 四: 100 ≤ V < 1000, 30 ≤ H < 60
    (100, 30, 4),
    (999, 59.9, 4),
    (50, 20, 5),       # row 五: V < 100, H < 30
    (99.9, 29.9, 5),
])
def test_each_row_of_the_grade_table(capacity, height, grade):
    # GB 39496-2020 (default) keeps grades 三–五 of AQ 2006-2005; both tables give the same rows
    assert rules.grade_by_capacity(capacity) == grade
    assert rules.grade_by_height(height) == grade
    assert rules.tailings_grade(capacity, height)["grade"] == grade
    assert rules.tailings_grade(capacity, height, rules.AQ_2006_2005)["grade"] == grade


def test_grades_one_apart_take_the_higher():
    r = rules.tailings_grade(5000, 45)  # V → 3, H → 4
    assert (r["grade_v"], r["grade_h"], r["grade"]) == (3, 4, 3)
    assert "相差一等" in r["basis"]
    assert rules.tailings_grade(50, 35)["grade"] == 4  # V → 5, H → 4


def test_grades_more_than_one_apart_take_the_higher_lowered_by_one():
    r = rules.tailings_grade(20000, 20)  # V → 2, H → 5: higher is 2, lowered by one → 3
    assert (r["grade_v"], r["grade_h"], r["grade"]) == (2, 5, 3)
    assert "相差大于一等" in r["basis"]
    assert rules.tailings_grade(50, 70)["grade"] == 4     # V → 5, H → 3 → 4
    assert rules.tailings_grade(150, 120)["grade"] == 3   # V → 4, H → 2 → 3
    assert rules.combine_grades(2, 4) == 3 and rules.combine_grades(3, 3) == 3


def test_missing_values_grade_from_the_other_or_not_at_all():
    assert rules.tailings_grade(500, np.nan)["grade"] == 4
    assert "坝高缺失" in rules.tailings_grade(500, None)["basis"]
    assert rules.tailings_grade(np.nan, 70)["grade"] == 3
    assert rules.tailings_grade(None, float("nan"))["grade"] is None


def test_gb39496_grade_1_and_2_bounds_are_parameters():
    gb = rules.gb39496_rules()
    assert rules.tailings_grade(60000, 210, gb)["grade"] == 1
    assert rules.tailings_grade(60000, 150, gb)["grade"] == 1   # V → 1, H → 2: one apart
    assert rules.tailings_grade(60000, 50, gb)["grade"] == 2    # V → 1, H → 4: lowered by one
    assert rules.tailings_grade(20000, 150, gb)["grade"] == 2
    assert rules.tailings_grade(60000, 210)["grade"] == 2       # the default computes no grade 1 (unconfirmed)
    assert rules.tailings_grade(60000, 210, rules.AQ_2006_2005)["grade"] == 2
    custom = rules.gb39496_rules(grade1_capacity=30000, grade1_height=180)
    assert rules.tailings_grade(35000, 185, custom)["grade"] == 1
    assert "30000" in custom.edition and custom.status.startswith("UNCONFIRMED")
    with pytest.raises(ParameterError):
        rules.gb39496_rules(grade1_capacity=5000)  # below the grade-2 bound: not a table


def test_people_present_threshold():
    assert rules.people_present(0.6, 1) and not rules.people_present(0.4, 1)
    assert not rules.people_present(4.4, 5) and rules.people_present(4.6, 5)
    assert not rules.people_present(float("nan"), 1)
    assert not rules.people_present(0.0, 0)  # nobody is never "residents present"


# --- synthetic valley -------------------------------------------------------------------------------
def _dem(path, pit=False):
    nx, ny, cell = 200, 120, 30.0
    xs = X0 + (np.arange(nx) + 0.5) * cell
    ys = (Y0 + ny / 2 * cell) - (np.arange(ny) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    z = 300 - 0.03 * (X - X0) + 0.15 * np.abs(Y - Y0)  # valley along +x, flowing east
    if pit:
        z[(np.abs(X - (DAM[0] + 400)) < 50) & (np.abs(Y - Y0) < 50)] -= 15
    with rasterio.open(path, "w", driver="GTiff", height=ny, width=nx, count=1, dtype="float32", crs=GK,
                       transform=from_origin(X0, Y0 + ny / 2 * cell, cell, cell), nodata=-9999) as ds:
        ds.write(z.astype("float32"), 1)
    return path


def _population(path, village_dx=None, persons=25.0):
    """Population raster (100 m cells), empty but for a 200 m × 200 m village centred village_dx from the dam."""
    nx, ny = 80, 40
    left, top = X0 - 500, Y0 + 2000
    pop = np.zeros((ny, nx), "float32")
    if village_dx is not None:
        col = int((DAM[0] + village_dx - 100 - left) // 100)
        row = int((top - Y0 - 100) // 100)
        pop[row:row + 2, col:col + 2] = persons
    with rasterio.open(path, "w", driver="GTiff", height=ny, width=nx, count=1, dtype="float32", crs=GK,
                       transform=from_origin(left, top, 100, 100), nodata=-9999) as ds:
        ds.write(pop, 1)
    return path


def _pond(az=90.0, **extra):
    data = {"name": ["测试尾矿库"], "capacity": [500.0], "dam_height": [40.0], "downstream_az": [az]}
    data.update({k: [v] for k, v in extra.items()})
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(*DAM)], crs=GK).to_crs(4490)


@pytest.fixture
def valley(tmp_path):
    return _dem(tmp_path / "valley.tif")


@pytest.mark.parametrize("village_dx, expected", [(800, True), (-800, False), (1500, False)])
def test_overhead_village_downstream_upstream_and_beyond(tmp_path, valley, village_dx, expected):
    pop = _population(tmp_path / "pop.tif", village_dx)
    res = assess_tailings(_pond(), valley, pop)
    row = res.tailings.iloc[0]
    assert bool(row.overhead) is expected
    assert row.trace_method == "DEM最陡坡降（D8）" and row.trace_length_m == pytest.approx(1000, abs=0.5)
    assert row.downstream_pop == pytest.approx(100 if expected else 0, abs=0.5)
    assert row.grade == 4 and row.overhead_zh == ("是" if expected else "否")


def test_pit_on_the_path_does_not_stop_the_trace(tmp_path):
    dem = _dem(tmp_path / "pit.tif", pit=True)
    res = assess_tailings(_pond(), dem, _population(tmp_path / "pop.tif", 800))
    row = res.tailings.iloc[0]
    assert row.pits_crossed >= 1 and row.trace_length_m == pytest.approx(1000, abs=0.5)
    assert bool(row.overhead)


def test_upstream_pointing_azimuth_is_ignored_when_the_dem_is_there(tmp_path, valley):
    # a wrong downstream_az (west) must not matter: the DEM says the water goes east
    res = assess_tailings(_pond(az=270.0), valley, _population(tmp_path / "pop.tif", 800))
    assert bool(res.tailings.iloc[0].overhead)


def test_without_dem_the_downstream_azimuth_is_used(tmp_path):
    pop = _population(tmp_path / "pop.tif", 800)
    east = assess_tailings(_pond(az=90.0), None, pop).tailings.iloc[0]
    west = assess_tailings(_pond(az=270.0), None, pop).tailings.iloc[0]
    assert east.trace_method == "下游方位角" and bool(east.overhead)
    assert not bool(west.overhead)
    none = assess_tailings(_pond(az=np.nan), None, pop)
    assert none.tailings.iloc[0].overhead_zh == "未判定" and len(none.corridors) == 0


def test_important_facility_alone_makes_an_overhead_pond(tmp_path, valley):
    pop = _population(tmp_path / "pop.tif", None)
    school = gpd.GeoDataFrame({"name": ["河口小学"], "category": ["school"]},
                              geometry=[shapely.Point(DAM[0] + 950, Y0 + 100)], crs=GK).to_crs(4490)
    roads = gpd.GeoDataFrame({"name": ["村道", "G312"], "road_class": ["township", "national"]},
                             geometry=[shapely.LineString([(DAM[0] + 300, Y0 - 900), (DAM[0] + 300, Y0 + 900)]),
                                       shapely.LineString([(DAM[0] + 3000, Y0 - 900), (DAM[0] + 3000, Y0 + 900)])],
                             crs=GK).to_crs(4490)
    res = assess_tailings(_pond(), valley, pop, facilities={"sensitive": school, "roads": roads})
    row = res.tailings.iloc[0]
    assert bool(row.overhead) and "河口小学" in row.downstream_facilities and "村道" not in row.downstream_facilities
    assert row.n_facilities == 2  # the school and the (unimportant) village road are listed
    assert sorted(res.facilities["name"]) == ["村道", "河口小学"]
    assert res.facilities.set_index("name").loc["村道", "important"] == False  # noqa: E712
    only_road = assess_tailings(_pond(), valley, pop, facilities={"roads": roads}).tailings.iloc[0]
    assert not bool(only_road.overhead)
    beyond = school.to_crs(GK).translate(250, 0).to_crs(4490)  # 1.2 km downstream
    far = assess_tailings(_pond(), valley, pop,
                          facilities={"sensitive": school.set_geometry(beyond)}).tailings.iloc[0]
    assert not bool(far.overhead)


def test_one_kilometre_is_inclusive():
    at_1km = gpd.GeoDataFrame({"name": ["界上小学"], "category": ["school"]},
                              geometry=[shapely.Point(DAM[0] + 1000, Y0)], crs=GK).to_crs(4490)
    res = assess_tailings(_pond(az=90.0), None, None, facilities={"sensitive": at_1km})
    assert bool(res.tailings.iloc[0].overhead)
    beyond = at_1km.to_crs(GK).translate(1, 0).to_crs(4490)
    res = assess_tailings(_pond(az=90.0), None, None, facilities={"sensitive": at_1km.set_geometry(beyond)})
    assert not bool(res.tailings.iloc[0].overhead)


def test_min_people_and_half_width_are_parameters(tmp_path, valley):
    pop = _population(tmp_path / "pop.tif", 800, persons=1.0)  # 4 persons in the village
    assert bool(assess_tailings(_pond(), valley, pop).tailings.iloc[0].overhead)
    strict = rules.OverheadParameters(min_people=10)
    res = assess_tailings(_pond(), valley, pop, params=strict)
    assert not bool(res.tailings.iloc[0].overhead)
    assert res.provenance["parameters"]["min_people"] == 10
    # a village 400 m off the path is outside a 250 m corridor but inside a 500 m one
    side = _population(tmp_path / "side.tif", None)
    with rasterio.open(side, "r+") as ds:
        data = ds.read(1)
        data[20 - 4 - 2:20 - 4, 25:27] = 25  # rows 14–15: y 400–600 m north of the valley axis
        ds.write(data, 1)
    assert not bool(assess_tailings(_pond(), valley, side).tailings.iloc[0].overhead)
    wide = rules.OverheadParameters(half_width_m=600)
    assert bool(assess_tailings(_pond(), valley, side, params=wide).tailings.iloc[0].overhead)


def test_result_layers_crs_and_provenance(tmp_path, valley):
    res = assess_tailings(_pond(), valley, _population(tmp_path / "pop.tif", 800))
    assert res.tailings.crs.to_epsg() == 4490 and res.corridors.crs.to_epsg() == 4490
    assert len(res.corridors) == 1 and len(res.paths) == 1
    corridor_area = res.corridors.to_crs(GK).area.iloc[0]
    assert corridor_area == pytest.approx(1000 * 500, rel=0.03)
    assert res.provenance["analysis"] == "tailings"
    assert any("头顶库" in s for s in res.provenance["standards"])
    assert "grade_basis" in res.tailings.columns and "reason" in res.tailings.columns


def test_grade_tailings_table_and_errors():
    gdf = gpd.GeoDataFrame({"名称": ["甲", "乙"], "总库容": [20000, 50], "坝高": [20, 70]},
                           geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 1, Y0)], crs=GK)
    g = grade_tailings(gdf)
    assert g["grade"].tolist() == [3, 4]
    with pytest.raises(ParameterError, match="capacity"):
        grade_tailings(gdf.drop(columns="总库容"))
    with pytest.raises(EmptyLayerError):
        grade_tailings(gdf.iloc[:0])
    with pytest.raises(ParameterError):
        rules.OverheadParameters(half_width_m=0)


def test_cancel_from_progress(tmp_path, valley):
    def cancel(fraction, message):
        if fraction > 0:
            raise CancelledError("cancelled")

    with pytest.raises(CancelledError):
        assess_tailings(_pond(), valley, _population(tmp_path / "pop.tif", 800), progress=cancel)


# --- the bundled sample --------------------------------------------------------------------------------
def test_sample_flags_exactly_the_placed_overhead_ponds():
    from riskmap import io, sample

    paths = {k: sample.sample_path(k) for k in ("tailings", "dem", "population", "sensitive", "enterprises",
                                                "roads")}  # committed: missing data fails here
    truth = sample.truth()
    facilities = {k: io.read_vector(paths[k]) for k in ("sensitive", "enterprises", "roads")}
    res = assess_tailings(io.read_vector(paths["tailings"]), paths["dem"], paths["population"],
                          facilities=facilities)
    t = res.tailings
    assert sorted(t.loc[t["overhead"], "name"]) == sorted(truth["overhead_tailings"])
    assert len(truth["overhead_tailings"]) == 2
    assert (t["trace_method"] == "DEM最陡坡降（D8）").all()
    assert t.loc[t["overhead"], "downstream_pop"].min() >= 10  # a real village, not raster dust
    assert t["grade"].notna().all()
    by_name = t.set_index("name")
    # truth: GB 39496-2020 grades of the storage graded (全库容 of the current stage where the sample has it)
    assert by_name["grade"].astype(int).to_dict() == {d["name"]: d["grade"] for d in truth["tailings"]}
    assert by_name["capacity_kind"].to_dict() == {d["name"]: d["capacity_graded"] for d in truth["tailings"]}
    assert by_name["raise_note"].to_dict() == {d["name"]: d["raise_note"] for d in truth["tailings"]}


def test_shapefile_truncated_downstream_field_is_recognised():
    import geopandas as gpd
    import shapely

    from riskmap.analysis.tailings import normalise_tailings

    ponds = gpd.GeoDataFrame({"name": ["甲库"], "capacity": [100.0], "dam_height": [30.0], "downstream": [135.0]},
                             geometry=[shapely.Point(114.9, 31.7)], crs=4490)
    assert normalise_tailings(ponds)["downstream_az"].tolist() == [135.0]


# --- GB 39496-2020 citations, 全库容 vs 总库容, 提等 note ------------------------------------------------
def test_grade_basis_cites_gb39496_and_gb50863_321():
    basis = rules.tailings_grade(5000, 45)["basis"]
    assert "GB 39496-2020" in basis and "GB 50863-2013 §3.2.1" in basis and "3.3.1" not in basis
    cited = " ".join(rules.standards_cited(rules.GB_39496_2020))
    assert "GB 39496-2020" in cited and "§3.2.1" in cited and "3.3.1" not in cited
    assert "代替AQ 2006-2005" in cited
    assert rules.OverheadParameters().grade_rules is rules.GB_39496_2020 or \
        rules.OverheadParameters().grade_rules.edition.startswith("GB 39496-2020")
    assert rules.PARAMS["rules"].default == "gb39496"
    assert rules.OverheadParameters(rules="aq2006").grade_rules.edition.startswith("AQ 2006-2005（已废止")


def test_stage_capacity_is_graded_when_given_else_total_capacity_with_a_note():
    # design 总库容 1500 (三等 by storage) but the current stage holds 全库容 400 (四等); H 35 m (四等)
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙"], "总库容": [1500.0, 1500.0], "全库容": [400.0, np.nan],
                            "坝高": [35.0, 35.0]},
                           geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 1, Y0)], crs=GK)
    g = grade_tailings(gdf)
    assert g["capacity_used"].tolist() == [400.0, 1500.0]
    assert g["grade"].tolist() == [4, 3]  # 乙: 总库容 → 三 by V, 四 by H → one apart → 三
    assert g["capacity_kind"].tolist() == ["全库容（现状）", "总库容（设计，无全库容数据）"]
    assert g["grade_basis"].iloc[0].startswith("按现状全库容定等")
    assert g["grade_basis"].iloc[1].startswith("无现状全库容，按设计总库容定等")
    res = assess_tailings(gdf.to_crs(4490).assign(downstream_az=90.0), None, None)
    assert any("1座无现状全库容数据，按设计总库容定等" in n for n in res.provenance["notes"])


@pytest.mark.parametrize("capacity, height, grade, note", [
    (5000, 80, 3, "需论证是否提等"), (500, 40, 4, "需论证是否提等"), (20000, 150, 2, "需论证是否提等"),
    (50, 20, 5, ""),  # 五等: no note (the clause is for grades 二–四 per issue 12)
])
def test_overhead_ponds_of_grades_2_to_4_get_the_raise_note_not_a_raise(capacity, height, grade, note):
    at_500m = gpd.GeoDataFrame({"name": ["下游小学"], "category": ["school"]},
                               geometry=[shapely.Point(DAM[0] + 500, Y0)], crs=GK).to_crs(4490)
    pond = _pond(az=90.0)
    pond["capacity"], pond["dam_height"] = float(capacity), float(height)
    row = assess_tailings(pond, None, None, facilities={"sensitive": at_500m}).tailings.iloc[0]
    assert bool(row.overhead) and row.grade == grade  # never raised automatically
    assert row.raise_note == note
    assert ("需论证是否提等" in row.reason) is bool(note) and ("§3.2.1" in row.reason) is bool(note)
    away = assess_tailings(pond, None, None).tailings.iloc[0]  # not a 头顶库: no note
    assert not bool(away.overhead) and away.raise_note == ""
