"""Analysis panels (dock widgets) the main window offers in its Analysis menu.

Each entry is ``(module, class name, Chinese label, English label)``; the window imports
the module lazily and shows the dock when the menu action is triggered.
"""

PANELS: tuple[tuple[str, str, str, str], ...] = (
    ("riskmap.ui.panels.pipelines", "PipelinesPanel", "管道高后果区识别", "Pipeline high-consequence areas"),
    ("riskmap.ui.panels.tailings", "TailingsPanel", "尾矿库等别与头顶库", "Tailings grades and overhead ponds"),
    ("riskmap.ui.panels.relocation", "RelocationPanel", "搬迁评估", "Relocation assessment"),
    ("riskmap.ui.panels.roads", "RoadHazardPanel", "道路隐患排查", "Road hazard register"),
    ("riskmap.ui.panels.qra", "QRAPanel", "定量风险评价", "Quantitative risk assessment"),
    ("riskmap.ui.panels.threat", "ThreatPanel", "事故后果威胁区", "Threat zones"),
    ("riskmap.ui.panels.fourcolour", "FourColourPanel", "安全风险四色分布图", "Four-colour risk map"),
)
