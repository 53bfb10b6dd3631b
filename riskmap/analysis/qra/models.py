"""Consequence models of the QRA: source terms, dispersion, fire, explosion and probits.

The simplest defensible model of each effect, each with its limits stated; every published
check is in ``docs/validation.md`` with its test.

Source terms
    :func:`gas_discharge` (ideal-gas choked / subsonic flow through a hole) and
    :func:`liquid_discharge` (Bernoulli through a hole), with the discharge coefficient 0.62 of a
    sharp-edged hole as default. Initial rates: the decay of pressure with time is not modelled
    (conservative for the release rate, not for the duration); flashing and rain-out of a
    pressure-liquefied release are not modelled (all of it is taken airborne).
Dispersion (neutral gas)
    :func:`briggs_sigmas`: Briggs (1973) open-country and urban σy, σz as tabulated by Gifford
    (valid 100 m–10 km; used down to the source, where they only matter inside the lethal zone).
    :func:`plume_concentration`: continuous Gaussian plume with ground reflection;
    :func:`puff_concentration`: instantaneous Gaussian puff (σx = σy), whose toxic load is
    integrated in closed form (:func:`puff_toxic_load`). No dense-gas effects: chlorine is heavier
    than air and a dense cloud spreads wider and lower near the source; the neutral model is a
    screening approximation (see docs/validation.md).
Fire
    :func:`point_source_flux` (jet fire or pool fire as a point source with a radiative fraction),
    :func:`pool_fire_hrr` (Babrauskas burning rate), :func:`fireball` (CCPS diameter, duration and
    height; sphere view factor).
Explosion
    :func:`tnt_mass` (TNT equivalence) and :func:`kinney_graham` (side-on overpressure of a TNT
    surface charge as a function of the scaled distance).
Probits
    :func:`probit_probability`, :func:`toxic_probit`, :func:`thermal_probit`,
    :func:`overpressure_probit`.
"""
from __future__ import annotations

import math

import numpy as np

from riskmap.analysis.qra import data

#: Briggs (1973) σ coefficients (Gifford's table): (a, b, c) with σ = a·x·(1 + b·x)^c, x in m.
BRIGGS = {
    "rural": {
        "A": ((0.22, 1e-4, -0.5), (0.20, 0.0, 0.0)),
        "B": ((0.16, 1e-4, -0.5), (0.12, 0.0, 0.0)),
        "C": ((0.11, 1e-4, -0.5), (0.08, 2e-4, -0.5)),
        "D": ((0.08, 1e-4, -0.5), (0.06, 1.5e-3, -0.5)),
        "E": ((0.06, 1e-4, -0.5), (0.03, 3e-4, -1.0)),
        "F": ((0.04, 1e-4, -0.5), (0.016, 3e-4, -1.0)),
    },
    "urban": {
        "A": ((0.32, 4e-4, -0.5), (0.24, 1e-3, 0.5)),
        "B": ((0.32, 4e-4, -0.5), (0.24, 1e-3, 0.5)),
        "C": ((0.22, 4e-4, -0.5), (0.20, 0.0, 0.0)),
        "D": ((0.16, 4e-4, -0.5), (0.14, 3e-4, -0.5)),
        "E": ((0.11, 4e-4, -0.5), (0.08, 1.5e-3, -0.5)),
        "F": ((0.11, 4e-4, -0.5), (0.08, 1.5e-3, -0.5)),
    },
}


def briggs_sigmas(x, stability: str, terrain: str = "rural"):
    """Briggs σy, σz (m) at downwind distance ``x`` (m) for a Pasquill class and rural/urban terrain.

    x is clipped to ≥ 1 m so that σ stays positive at the source.
    """
    try:
        (ay, by, cy), (az, bz, cz) = BRIGGS[terrain][stability]
    except KeyError:
        raise ValueError(f"unknown stability {stability!r} or terrain {terrain!r}") from None
    x = np.maximum(np.asarray(x, float), 1.0)
    return ay * x * (1 + by * x) ** cy, az * x * (1 + bz * x) ** cz


def plume_concentration(rate, u, y, sigma_y, sigma_z, height=0.0, z=0.0):
    """Continuous Gaussian plume with ground reflection: concentration (units of ``rate``/m³·s).

    C = Q/(2π u σy σz) · exp(−y²/2σy²) · [exp(−(z−H)²/2σz²) + exp(−(z+H)²/2σz²)].
    """
    sy, sz = np.asarray(sigma_y, float), np.asarray(sigma_z, float)
    vertical = np.exp(-((z - height) ** 2) / (2 * sz * sz)) + np.exp(-((z + height) ** 2) / (2 * sz * sz))
    return rate / (2 * math.pi * u * sy * sz) * np.exp(-np.asarray(y, float) ** 2 / (2 * sy * sy)) * vertical


def puff_concentration(mass, y, sigma_y, sigma_z, height=0.0, z=0.0):
    """Peak concentration of a Gaussian puff (σx = σy) passing over (x, y, z), with ground reflection."""
    sy, sz = np.asarray(sigma_y, float), np.asarray(sigma_z, float)
    vertical = np.exp(-((z - height) ** 2) / (2 * sz * sz)) + np.exp(-((z + height) ** 2) / (2 * sz * sz))
    return mass / ((2 * math.pi) ** 1.5 * sy * sy * sz) * np.exp(-np.asarray(y, float) ** 2 / (2 * sy * sy)) * vertical


def puff_toxic_load(peak_mg_m3, sigma_x, u, n):
    """∫Cⁿ dt (in (mg/m³)ⁿ·min) of a Gaussian puff of peak ``peak_mg_m3`` passing at speed ``u``.

    With C(t) = C_peak·exp(−(u t)²/2σx²), ∫Cⁿ dt = C_peakⁿ · (σx/u) · √(2π/n).
    """
    return np.asarray(peak_mg_m3, float) ** n * (np.asarray(sigma_x, float) / u) * math.sqrt(2 * math.pi / n) / 60.0


def probit_probability(pr):
    """Probability from a probit value: Φ(Pr − 5)."""
    from scipy.special import erf  # here, not at import: scipy.special costs every riskmap command ~0.2 s

    return 0.5 * (1.0 + erf((np.asarray(pr, float) - 5.0) / math.sqrt(2.0)))


def toxic_probit(load, a: float, b: float):
    """Pr = a + b·ln(load), load = ∫Cⁿ dt in (mg/m³)ⁿ·min (−∞ where the load is 0)."""
    load = np.asarray(load, float)
    with np.errstate(divide="ignore"):
        return a + b * np.log(load)


def thermal_probit(flux_w_m2, seconds, a: float = data.THERMAL_PROBIT["a"], b: float = data.THERMAL_PROBIT["b"]):
    """Pr = a + b·ln(q^(4/3)·t), q in W/m², t in s (CPR 18E ch. 5 defaults)."""
    q = np.asarray(flux_w_m2, float)
    with np.errstate(divide="ignore"):
        return a + b * np.log(q ** (4.0 / 3.0) * seconds)


def overpressure_probit(pa, a: float = data.OVERPRESSURE_PROBIT["a"], b: float = data.OVERPRESSURE_PROBIT["b"]):
    """Pr = a + b·ln(ΔP), ΔP in Pa (Eisenberg et al. 1975, lung haemorrhage)."""
    p = np.asarray(pa, float)
    with np.errstate(divide="ignore"):
        return a + b * np.log(p)


# ---------------------------------------------------------------------------
# source terms
# ---------------------------------------------------------------------------
def hole_area(diameter_m: float) -> float:
    return math.pi * diameter_m * diameter_m / 4.0


def gas_discharge(pressure_pa: float, temperature_k: float, molar_mass_kg: float, gamma: float,
                  diameter_m: float, cd: float = 0.62, ambient_pa: float = data.AMBIENT_P_PA) -> float:
    """Mass rate (kg/s) of an ideal gas through a hole: choked when P/Pa ≥ ((γ+1)/2)^(γ/(γ−1)).

    Choked: m = Cd·A·P·√(γM/(RT)·(2/(γ+1))^((γ+1)/(γ−1))); otherwise the subsonic isentropic formula.
    """
    a = hole_area(diameter_m)
    g = gamma
    critical = ((g + 1) / 2) ** (g / (g - 1))
    rt = data.R_GAS * temperature_k / molar_mass_kg
    if pressure_pa / ambient_pa >= critical:
        return cd * a * pressure_pa * math.sqrt(g / rt * (2 / (g + 1)) ** ((g + 1) / (g - 1)))
    ratio = ambient_pa / pressure_pa
    rho = pressure_pa / rt
    return cd * a * math.sqrt(2 * rho * pressure_pa * g / (g - 1) * (ratio ** (2 / g) - ratio ** ((g + 1) / g)))


def liquid_discharge(gauge_pa: float, density: float, diameter_m: float, cd: float = 0.62,
                     head_m: float = 0.0) -> float:
    """Mass rate (kg/s) of a liquid through a hole: m = Cd·A·√(2ρ(ΔP + ρ g h))."""
    return cd * hole_area(diameter_m) * math.sqrt(2 * density * (gauge_pa + density * 9.80665 * head_m))


# ---------------------------------------------------------------------------
# fire and explosion
# ---------------------------------------------------------------------------
def point_source_flux(heat_release_w, distance_m, radiative_fraction: float, transmissivity: float = 1.0):
    """Radiant flux (W/m²) of a fire taken as a point source: q = τ·χr·Q/(4π r²)."""
    r = np.maximum(np.asarray(distance_m, float), 1e-9)
    return transmissivity * radiative_fraction * heat_release_w / (4 * math.pi * r * r)


def pool_fire_hrr(burning_rate_kg_m2_s: float, heat_of_combustion_j_kg: float, k_beta: float, area_m2: float) -> float:
    """Heat release rate (W) of a pool fire: Q = m''·ΔHc·(1 − e^(−kβ·D))·A (Babrauskas), D the equivalent diameter."""
    diameter = math.sqrt(4 * area_m2 / math.pi)
    return burning_rate_kg_m2_s * heat_of_combustion_j_kg * (1 - math.exp(-k_beta * diameter)) * area_m2


def fireball(mass_kg: float):
    """``(diameter m, duration s, centre height m)`` of a fireball (CCPS 1994/2000).

    D = 5.8·M^(1/3); t = 0.45·M^(1/3) for M < 30 000 kg, else 2.6·M^(1/6); centre height 0.75·D.
    """
    d = 5.8 * mass_kg ** (1 / 3)
    t = 0.45 * mass_kg ** (1 / 3) if mass_kg < 30000 else 2.6 * mass_kg ** (1 / 6)
    return d, t, 0.75 * d


def fireball_flux(mass_kg: float, distance_m, sep_w_m2: float = 350e3, transmissivity: float = 1.0):
    """Flux (W/m²) at ground distance ``distance_m`` from a fireball: SEP·τ·(D/2)²/(r² + H²) (sphere view factor)."""
    d, _t, h = fireball(mass_kg)
    r = np.asarray(distance_m, float)
    return sep_w_m2 * transmissivity * (d / 2) ** 2 / (r * r + h * h)


#: TNT blast energy (J/kg) used for TNT equivalence (4.68 MJ/kg; CCPS 2000 / Crowl & Louvar).
E_TNT = 4.68e6


def tnt_mass(fuel_kg: float, heat_of_combustion_j_kg: float, efficiency: float) -> float:
    """TNT-equivalent mass (kg): W = η·M·ΔHc / E_TNT."""
    return efficiency * fuel_kg * heat_of_combustion_j_kg / E_TNT


def kinney_graham(scaled_distance):
    """Side-on overpressure ratio ps/pa of a TNT charge at scaled distance Z = R/W^(1/3) (m/kg^(1/3)).

    ps/pa = 1616·[1 + (Z/4.5)²] / ( √(1 + (Z/0.048)²) · √(1 + (Z/0.32)²) · √(1 + (Z/1.35)²) ) (Kinney & Graham 1985).
    """
    z = np.asarray(scaled_distance, float)
    return 1616.0 * (1 + (z / 4.5) ** 2) / (np.sqrt(1 + (z / 0.048) ** 2) * np.sqrt(1 + (z / 0.32) ** 2)
                                            * np.sqrt(1 + (z / 1.35) ** 2))


def gas_density(molar_mass_kg: float, temperature_k: float = data.AMBIENT_T_K,
                pressure_pa: float = data.AMBIENT_P_PA) -> float:
    """Ideal-gas density (kg/m³)."""
    return pressure_pa * molar_mass_kg / (data.R_GAS * temperature_k)


__all__ = ["BRIGGS", "E_TNT", "briggs_sigmas", "fireball", "fireball_flux", "gas_density", "gas_discharge",
           "hole_area", "kinney_graham", "liquid_discharge", "overpressure_probit", "plume_concentration",
           "point_source_flux", "pool_fire_hrr", "probit_probability", "puff_concentration", "puff_toxic_load",
           "thermal_probit", "tnt_mass", "toxic_probit"]
