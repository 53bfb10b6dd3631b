"""Consequence models against published worked examples and hand computations (docs/validation.md).

Each case names its source; the cases without a published result are hand computations of the
published formula, and say so.
"""
import math

import numpy as np
import pytest

from riskmap.analysis.qra import data, models


@pytest.mark.parametrize("x_km, sigma_z, sigma_y, conc", [(0.26, 26.2, 45.9, 1.53e-5), (0.28, 28.2, 49.0, 1.56e-5),
                                                          (0.30, 30.1, 52.2, 1.55e-5)])
def test_plume_matches_boubel_fox_turner_stern_example(x_km, sigma_z, sigma_y, conc):
    """Boubel, Fox, Turner & Stern, *Fundamentals of Air Pollution* 3rd ed. (1994) §19.III.D: 0.37 g/s at an
    effective height of 40 m, u = 2 m/s, stability B; ground-level centreline concentrations (g/m³) as printed."""
    c = models.plume_concentration(0.37, 2.0, 0.0, sigma_y, sigma_z, height=40.0)
    assert c == pytest.approx(conc, rel=0.01)


def test_briggs_rural_and_urban_sigmas_by_hand():
    """Briggs (1973) as tabulated by Gifford (same book, Tables 19-6/19-7), at x = 1000 m."""
    sy, sz = models.briggs_sigmas(1000.0, "D", "rural")
    assert sy == pytest.approx(0.08 * 1000 / math.sqrt(1.1)) and sz == pytest.approx(0.06 * 1000 / math.sqrt(2.5))
    sy, sz = models.briggs_sigmas(1000.0, "F", "rural")
    assert sy == pytest.approx(40 / math.sqrt(1.1)) and sz == pytest.approx(16 / 1.3)
    sy, sz = models.briggs_sigmas(1000.0, "D", "urban")
    assert sy == pytest.approx(160 / math.sqrt(1.4)) and sz == pytest.approx(140 / math.sqrt(1.3))
    sy, sz = models.briggs_sigmas(1000.0, "F", "urban")
    assert sy == pytest.approx(110 / math.sqrt(1.4)) and sz == pytest.approx(80 / math.sqrt(2.5))


def test_pool_fire_point_source_matches_nureg_1805_chapter_5():
    """NUREG-1805 (Fire Dynamics Tools) ch. 5, point-source spreadsheet example: m'' = 0.045 kg/m²s, ΔHc = 44 400
    kJ/kg, kβ = 2.1 /m, dike 2545 ft², L = 130 ft (39.624 m), χr = 0.30; published heat release rate 472 403.60 kW.
    The flux is the same sheet's q = χr·Q/(4πL²), computed by hand: 7.18 kW/m²."""
    area = 2545 * 0.3048 ** 2
    q = models.pool_fire_hrr(0.045, 44400e3, 2.1, area)
    assert q / 1e3 == pytest.approx(472403.60, abs=1.0)
    flux = models.point_source_flux(q, 39.624, 0.30)
    assert flux / 1e3 == pytest.approx(0.30 * 472403.60 / (4 * math.pi * 39.624 ** 2), rel=1e-5)
    assert flux / 1e3 == pytest.approx(7.18, abs=0.01)


def test_toxic_probits_give_the_purple_book_lethal_loads():
    """CPR 18E probit constants: P = 50 % where ln(Cⁿ t) = (5 − a)/b. For chlorine over 30 min that is
    C = (e^{22.7}/30)^{1/2.75} ≈ 1118 mg/m³ (≈ 386 ppm); for ammonia C = √(e^{20.6}/30) ≈ 5 410 mg/m³."""
    cl = data.TOXIC_PROBITS["氯"]
    c50 = (math.exp((5 - cl["a"]) / cl["b"]) / 30.0) ** (1 / cl["n"])
    assert c50 == pytest.approx(1118, rel=0.005)
    pr = models.toxic_probit(c50 ** cl["n"] * 30.0, cl["a"], cl["b"])
    assert models.probit_probability(pr) == pytest.approx(0.5)
    nh3 = data.TOXIC_PROBITS["氨"]
    c50 = (math.exp((5 - nh3["a"]) / nh3["b"]) / 30.0) ** (1 / nh3["n"])
    assert c50 == pytest.approx(5410, rel=0.005)
    assert models.probit_probability(6.0) == pytest.approx(0.8413, abs=1e-4)  # Φ(1)


def test_thermal_probit_by_hand():
    """Pr = −36.38 + 2.56·ln(q^{4/3} t): 35 kW/m² for 20 s → Pr = 7.01, P ≈ 0.978."""
    pr = models.thermal_probit(35e3, 20.0)
    assert pr == pytest.approx(-36.38 + 2.56 * math.log(35e3 ** (4 / 3) * 20), rel=1e-12)
    assert pr == pytest.approx(7.01, abs=0.01)
    assert models.probit_probability(pr) == pytest.approx(0.978, abs=0.002)


def test_tnt_equivalence_and_kinney_graham_by_hand():
    """1000 kg of propane (46.4 MJ/kg) at 3 % yield = 297 kg TNT; at 100 m, Z = 14.98 m/kg^⅓; the Kinney–Graham
    correlation gives ps/pa = 0.1199 there (hand computation of the formula; no published example at hand)."""
    w = models.tnt_mass(1000.0, 46.4e6, 0.03)
    assert w == pytest.approx(0.03 * 1000 * 46.4e6 / 4.68e6)
    z = 100.0 / w ** (1 / 3)
    ratio = 1616 * (1 + (z / 4.5) ** 2) / math.sqrt((1 + (z / 0.048) ** 2) * (1 + (z / 0.32) ** 2) * (1 + (z / 1.35) ** 2))
    assert models.kinney_graham(z) == pytest.approx(ratio, rel=1e-12)
    assert models.kinney_graham(z) == pytest.approx(0.1199, abs=0.0005)
    assert np.all(np.diff(models.kinney_graham(np.linspace(0.5, 50, 200))) < 0)  # decays with distance


def test_choked_gas_and_liquid_discharge_by_hand():
    """Hydrogen at 15 MPa, 20 °C through 10 mm, Cd 0.62: choked; m = Cd·A·P·√(γM/RT·(2/(γ+1))^((γ+1)/(γ−1)))."""
    m = models.gas_discharge(15e6, 293.15, 2.016e-3, 1.41, 0.01, 0.62)
    a = math.pi * 0.01 ** 2 / 4
    expected = 0.62 * a * 15e6 * math.sqrt(1.41 * 2.016e-3 / (8.314462618 * 293.15) * (2 / 2.41) ** (2.41 / 0.41))
    assert m == pytest.approx(expected, rel=1e-12)
    assert m == pytest.approx(0.456, abs=0.001)  # 0.62 × 7.854e-5 m² × 15 MPa × 6.243e-4 s/m
    # below the critical ratio the flow is subsonic and smaller than the choked formula would say
    sub = models.gas_discharge(1.5e5, 293.15, 0.029, 1.4, 0.01, 0.62)
    choked = 0.62 * a * 1.5e5 * math.sqrt(1.4 * 0.029 / (8.314462618 * 293.15) * (2 / 2.4) ** (2.4 / 0.4))
    assert 0 < sub < choked
    # liquid chlorine at its vapour pressure (6.78 bar a) through 10 mm: m = Cd A √(2ρΔP)
    liq = models.liquid_discharge(6.78e5 - 101325, 1410.0, 0.01, 0.62)
    assert liq == pytest.approx(0.62 * a * math.sqrt(2 * 1410 * (6.78e5 - 101325)), rel=1e-12)


def test_puff_load_integral_matches_numerical_integration():
    """∫Cⁿ dt of a Gaussian puff passing at speed u: closed form vs a numerical sum over time."""
    peak, sx, u, n = 2000.0, 40.0, 1.5, 2.75
    t = np.linspace(-600, 600, 200001)  # s
    c = peak * np.exp(-((u * t) ** 2) / (2 * sx * sx))
    numeric = np.trapezoid(c ** n, t) / 60.0
    assert models.puff_toxic_load(peak, sx, u, n) == pytest.approx(numeric, rel=1e-6)


def test_fireball_by_hand():
    d, t, h = models.fireball(1000.0)
    assert d == pytest.approx(58.0) and t == pytest.approx(4.5) and h == pytest.approx(43.5)
    assert models.fireball_flux(1000.0, 100.0) == pytest.approx(350e3 * 29.0 ** 2 / (100 ** 2 + 43.5 ** 2))


def test_small_pool_is_not_optically_thick():
    """A 1 m pool (A = π/4 m²) of the same fuel: Q = 0.045 × 44.4 MJ/kg × (1 − e^{−2.1}) × 0.7854 m² = 1.377 MW."""
    q = models.pool_fire_hrr(0.045, 44.4e6, 2.1, math.pi / 4)
    assert q == pytest.approx(0.045 * 44.4e6 * (1 - math.exp(-2.1)) * math.pi / 4, rel=1e-12)
    assert q / 1e6 == pytest.approx(1.377, abs=0.001)
