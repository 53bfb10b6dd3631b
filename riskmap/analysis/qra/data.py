"""Documented default values of the QRA: where GB/T 37243-2019 appendix values are not at hand.

STANDARDS.md holds no value of GB/T 37243-2019 Appendices C (leak frequencies), E (durations),
F (ignition), G (thresholds) or H (probit constants). Until they are read, riskmap uses the
published values of the TNO "Purple Book" (CPR 18E, *Guidelines for quantitative risk
assessment*, 1st ed. 1999, reprinted 2005) and of the textbooks named below, each marked in the
provenance as a documented default (文献缺省值), never as a GB value. Every one is a declared
parameter or a row of a table the user may replace.

Properties: the ``chemicals``/``thermo``/``CoolProp`` libraries are not installed in riskmap's
environment, so :data:`PROPERTIES` is a small table of the few values the models need, at 20 °C,
from the NIST Chemistry WebBook (SRD 69: molar mass, vapour pressure, saturated-liquid density,
heat-capacity ratio of the gas at 1 atm) and, for heats of combustion and flammability limits,
from CCPS *Guidelines for Chemical Process Quantitative Risk Analysis* (2nd ed., 2000), Appendix
tables. Values are rounded to three significant figures.
"""
from __future__ import annotations

#: Citation used in provenance for Purple Book defaults.
PURPLE_BOOK = "CPR 18E (TNO Purple Book, 1999/2005)"

#: Toxic probit constants Pr = a + b·ln(Cⁿ·t), C in mg/m³, t in min (CPR 18E ch. 5, table of probit
#: functions for lethality; documented defaults pending GB/T 37243-2019 Appendix H).
TOXIC_PROBITS = {
    "氯": {"a": -6.35, "b": 0.5, "n": 2.75},
    "氨": {"a": -15.6, "b": 1.0, "n": 2.0},
    "硫化氢": {"a": -11.5, "b": 1.0, "n": 1.9},
}

#: Thermal-radiation lethality probit Pr = a + b·ln(q^(4/3)·t), q in W/m², t in s (CPR 18E ch. 5, unprotected
#: person outdoors).
THERMAL_PROBIT = {"a": -36.38, "b": 2.56}

#: Overpressure lethality probit Pr = a + b·ln(ΔP), ΔP in Pa: Eisenberg et al. (1975) lung haemorrhage, as given
#: in CCPS (2000) and Lees, *Loss Prevention in the Process Industries*.
OVERPRESSURE_PROBIT = {"a": -77.1, "b": 6.91}

#: Loss-of-containment events of a stationary pressure vessel and their frequencies per year (CPR 18E ch. 3,
#: pressure vessels: G.1 instantaneous release of the complete inventory, G.2 continuous release of the complete
#: inventory in 10 min, G.3 continuous release from a hole of 10 mm effective diameter).
VESSEL_EVENTS = {
    "G.1": {"zh": "瞬时全部泄漏", "frequency": 5e-7},
    "G.2": {"zh": "10 min内全部泄漏", "frequency": 5e-7, "duration_s": 600.0},
    "G.3": {"zh": "10 mm孔连续泄漏", "frequency": 1e-5, "hole_mm": 10.0},
}

#: Probability of direct ignition of a flammable release from a stationary installation (CPR 18E ch. 4, by
#: reactivity): (upper bound of the class, probability) for continuous releases (kg/s) and instantaneous ones (kg).
DIRECT_IGNITION = {
    "low": {"continuous": ((10.0, 0.02), (100.0, 0.04), (float("inf"), 0.09)),
            "instantaneous": ((1000.0, 0.02), (10000.0, 0.04), (float("inf"), 0.09))},
    "average": {"continuous": ((10.0, 0.2), (100.0, 0.5), (float("inf"), 0.7)),
                "instantaneous": ((1000.0, 0.2), (10000.0, 0.5), (float("inf"), 0.7))},
    "high": {"continuous": ((10.0, 0.5), (100.0, 0.7), (float("inf"), 0.7)),
             "instantaneous": ((1000.0, 0.5), (10000.0, 0.7), (float("inf"), 0.7))},
}

#: Share of delayed ignitions that give an explosion (the rest a flash fire) (CPR 18E ch. 4).
EXPLOSION_SHARE = 0.4

#: Substance properties at 20 °C (see the module docstring for the sources). ``storage``: "liquefied" (pressure
#: liquefied at its vapour pressure) or "compressed" (gas at ``pressure_mpa``, a riskmap default where the
#: inventory does not say). ``reactivity`` is the Purple Book ignition class of a flammable substance.
PROPERTIES = {
    "氯": {"M": 70.9, "gamma": 1.34, "p_vap_bar": 6.78, "rho_liq": 1410.0, "storage": "liquefied",
          "hazards": ("toxic",)},
    "氨": {"M": 17.0, "gamma": 1.31, "p_vap_bar": 8.57, "rho_liq": 610.0, "storage": "liquefied",
          "hazards": ("toxic",)},
    "硫化氢": {"M": 34.1, "gamma": 1.32, "p_vap_bar": 18.2, "rho_liq": 784.0, "storage": "liquefied",
             "hazards": ("toxic",)},
    "液化石油气": {"M": 44.1, "gamma": 1.13, "p_vap_bar": 8.36, "rho_liq": 500.0, "storage": "liquefied",
              "hazards": ("flammable",), "dhc_mj_kg": 46.4, "lfl_vol": 0.021, "reactivity": "average"},
    "二甲醚": {"M": 46.1, "gamma": 1.11, "p_vap_bar": 5.1, "rho_liq": 668.0, "storage": "liquefied",
            "hazards": ("flammable",), "dhc_mj_kg": 28.8, "lfl_vol": 0.034, "reactivity": "average"},
    "氢": {"M": 2.02, "gamma": 1.41, "pressure_mpa": 15.0, "storage": "compressed",
          "hazards": ("flammable",), "dhc_mj_kg": 120.0, "lfl_vol": 0.04, "reactivity": "high"},
    "甲烷": {"M": 16.0, "gamma": 1.31, "pressure_mpa": 20.0, "storage": "compressed",
           "hazards": ("flammable",), "dhc_mj_kg": 50.0, "lfl_vol": 0.05, "reactivity": "low"},
}

#: Weather classes (Pasquill stability, wind speed m/s, period): D5 by day and F1.5 by night (riskmap default
#: after the Purple Book's representative classes; GB/T 37243-2019 text not read).
WEATHER = (("D5", "D", 5.0, "day"), ("F1.5", "F", 1.5, "night"))

#: Heat-radiation exposure time (s) of a person outdoors (CPR 18E ch. 5: 20 s, the time to flee).
FIRE_EXPOSURE_S = 20.0

#: Longest toxic exposure (min) counted (CPR 18E ch. 4/5: 30 min).
TOXIC_EXPOSURE_MAX_MIN = 30.0

#: Ambient conditions.
AMBIENT_T_K = 293.15
AMBIENT_P_PA = 101325.0
R_GAS = 8.314462618  # J/(mol·K)
