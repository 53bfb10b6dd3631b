"""变更记录: the history of the hazard register, for one segment or a county (or all), newest first."""
from __future__ import annotations

from PyQt5.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

from riskmap.analysis import register as reg
from riskmap.i18n import tr
from riskmap.ui.panels.common import result_table, set_row

#: Columns shown, in order.
COLUMNS = ("time", "user", "county", "road", "km", "action", "old", "new", "text")


def action_label(action: str) -> str:
    english = {"created": "Created", "accepted": "Accepted", "rejected": "Rejected", "extent": "Chainage",
               "status": "Status", "severity": "Severity", "kind": "Kind", "deadline": "Deadline", "note": "Note",
               "split": "Split", "merged": "Merged", "deleted": "Deleted", "undo": "Undone"}
    return tr(reg.HISTORY_ACTIONS.get(action, action), english.get(action, action))


class HistoryDialog(QDialog):
    """The register's change history, filtered by segment or county; refreshes when the register changes.

    Parameters
    ----------
    register : HazardRegister
    segment : str, optional
        Show only this segment's rows (the scope combo then starts on it).
    """

    def __init__(self, register, segment: str | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("RegisterHistoryDialog")
        self.register = register
        self.setWindowTitle(tr("变更记录", "Change history"))
        self.resize(900, 420)
        v = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("范围：", "Scope: ")))
        self.scope = QComboBox()
        self.scope.addItem(tr("全部路段", "All segments"), ("all", None))
        counties = sorted({s.county for s in register if s.county} | {h["county"] for h in register.history
                                                                       if h["county"]})
        for c in counties:
            self.scope.addItem(tr(f"县区：{c}", f"County: {c}"), ("county", c))
        if segment is not None:
            seg = register.segments.get(segment)
            label = seg.km_label if seg is not None else segment
            self.scope.addItem(tr(f"路段：{label}", f"Segment: {label}"), ("segment", segment))
            self.scope.setCurrentIndex(self.scope.count() - 1)
        self.scope.currentIndexChanged.connect(lambda *_: self.refresh())
        row.addWidget(self.scope, 1)
        v.addLayout(row)
        self.table = result_table([tr("时间", "Time"), tr("用户", "User"), tr("县区", "County"), tr("道路", "Road"),
                                   tr("桩号", "Chainage"), tr("操作", "Change"), tr("原值", "Old"), tr("新值", "New"),
                                   tr("说明", "Description")])
        v.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.Close).setText(tr("关闭", "Close"))
        v.addWidget(buttons)
        register.events.changed.connect(self._on_changed)
        self.refresh()

    def _on_changed(self, **_):
        try:
            self.refresh()
        except RuntimeError:  # the dialog is gone
            pass

    def rows(self):
        """The history rows shown (newest first) as dicts."""
        kind, value = self.scope.currentData()
        frame = self.register.history_frame(seg_id=value if kind == "segment" else None,
                                            county=value if kind == "county" else None)
        return frame.iloc[::-1].to_dict("records")

    def refresh(self) -> None:
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            set_row(self.table, i, [r["time"].replace("T", " ")[:19], r["user"], r["county"], r["road"], r["km"],
                                    action_label(r["action"]), r["old"], r["new"], r["text"]])


__all__ = ["HistoryDialog"]
