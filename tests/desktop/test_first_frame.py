"""The window's first drawing happens before it is shown (issue 14, item 8): polishing every
widget and loading the fonts took 30-60 ms of UI work in the first Expose, after the loading
threads had started, and bench gui listed it as a launch stall. Drawn once while hidden, the
window shows with the same content and the first Expose only repaints."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from desktop.main_window import MainWindow


def test_the_window_is_drawn_once_before_it_is_shown(qtbot, tmp_path) -> None:
    window = MainWindow(tmp_path / "data")  # the real window; its workers are never started
    qtbot.addWidget(window)
    assert not window.isVisible()
    to_show = [w for w in window.findChildren(QWidget) if w.isVisibleTo(window)]
    assert len(to_show) > 30
    unpolished = [f"{type(w).__name__}:{w.objectName()}" for w in to_show
                  if not w.testAttribute(Qt.WidgetAttribute.WA_WState_Polished)]
    assert unpolished == []  # the old window polished them all in its first Expose

    # shown, it draws what it would have: the welcome notice, the composer, the panels
    window.show()
    qtbot.waitExposed(window)
    notice = window.first_run.findChild(QLabel)
    assert notice.isVisible() and "Welcome to Frontdesk" in notice.text()
    assert window.composer.isVisible() and window.suggestion.isVisible()
    frame = window.grab().toImage()
    assert frame.width() == window.width() and frame.height() == window.height()
    colours = {frame.pixel(x, y) for x in range(0, frame.width(), 37)
               for y in range(0, frame.height(), 29)}
    assert len(colours) > 3  # text and frames drawn, not one flat colour
    window.close()
