"""Quantitative risk assessment (定量风险评价, GB/T 37243-2019 §6; criteria GB 36894-2018).

- :mod:`.engine`: the risk integration on a metric grid (individual risk, contours).
- :mod:`.societal`: population on the risk grid, F-N curves, the GB 36894 societal-risk check.
- :mod:`.models`: source terms, dispersion, fire and explosion effects, probits.
- :mod:`.data`: documented default values (Purple Book CPR 18E, property table, weather).
- :mod:`.assess`: scenarios of a plant and the whole assessment (``riskmap qra``).
"""
