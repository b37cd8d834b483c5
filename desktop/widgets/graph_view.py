""""Why": what the assistant looked at to answer, in words and bars an agent reads at a glance.

The reply's evidence (`reply.evidence`: the model's attention on turns, screenshot text boxes and
values found) becomes a graph (`build_graph`, plain data tested on its own). It is shown as the
conversation's turns in order, each with a bar for how much it counted and, under it, the
screenshot text and values it contributed; the turn answered is marked. Long sessions scroll
like the conversation (a drawn graph shrank 14 turns to 3 px labels). Below, the screenshot the
answer looked at, its text boxes outlined (the bolder, the more they counted), fitted to the
pane whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.types import SPEAKERS, Evidence, Reply

WHO = {"customer": "Customer", "agent": "Agent"}
PART = {"screenshot": "Screenshot", "box": "Text on the screenshot", "entity": "Found"}


@dataclass
class GraphNode:
    key: str
    kind: str  # customer | agent | screenshot | box | entity
    label: str
    weight: float = 0.0  # attention on the node itself (0-1)
    box: tuple[float, float, float, float] | None = None  # OCR box, fractions of the image


@dataclass
class GraphEdge:
    source: str
    target: str
    kind: str  # order | contains | mentions | attends
    weight: float = 0.1


@dataclass
class ConversationGraph:
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)


UNWEIGHTED = 0.5  # a turn the engine named by rule (the message, a slot's source): no figure


def _short(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_graph(turns: list[dict], reply: Reply | None) -> ConversationGraph:
    """The session's turns, screenshots, OCR boxes and entities as nodes, with the reply's
    evidence (engine.types.Evidence: the turns and OCR boxes that drove it, with the model's
    attention where it has one) as weights and as "attends" edges into the turn being
    answered: thicker = more attention."""
    graph = ConversationGraph()
    evidence = reply.evidence if reply else Evidence()
    current = f"turn:{reply.turn_id}" if reply and reply.turn_id is not None else None
    spoken = [t for t in turns if t.get("role") in SPEAKERS]

    previous = None
    shots_of: dict[str, list[str]] = {}
    for turn in spoken:
        key = f"turn:{turn['id']}"
        graph.nodes[key] = GraphNode(
            key, turn.get("role", "customer"), _short(turn.get("text") or "(screenshot)")
        )
        if previous:
            graph.edges.append(GraphEdge(previous, key, "order", 0.05))
        previous = key
        for attachment in turn.get("attachments") or []:
            if attachment.get("kind") == "image":
                shot = f"shot:{attachment['id']}"
                graph.nodes[shot] = GraphNode(shot, "screenshot", "screenshot")
                graph.edges.append(GraphEdge(key, shot, "contains", 0.1))
                shots_of.setdefault(key, []).append(shot)

    def owner(turn_id: int | None) -> str | None:
        key = f"turn:{turn_id}"
        return key if turn_id is not None and key in graph.nodes else current

    def attends(node_key: str, weight: float) -> None:
        if current and node_key != current and current in graph.nodes:
            graph.edges.append(GraphEdge(node_key, current, "attends", weight))

    for said in evidence.turns:
        turn_key = owner(said.turn_id)
        if turn_key in graph.nodes:
            weight = UNWEIGHTED if said.weight is None else said.weight
            graph.nodes[turn_key].weight = max(graph.nodes[turn_key].weight, weight)
            attends(turn_key, weight)
    for index, seen in enumerate(evidence.boxes):
        turn_key = owner(seen.turn_id)
        shots = shots_of.get(turn_key or "", [])
        shot = f"shot:{seen.attachment_id}" if f"shot:{seen.attachment_id}" in graph.nodes \
            else shots[min(seen.screenshot, len(shots) - 1)] if shots else None
        node_key = f"box:{index}"
        graph.nodes[node_key] = GraphNode(node_key, "box", _short(seen.text), seen.weight,
                                          seen.box)
        if shot or turn_key:
            graph.edges.append(GraphEdge(shot or turn_key, node_key, "contains", 0.1))
        attends(node_key, seen.weight)

    known = {n.label for n in graph.nodes.values() if n.kind == "entity"}
    for index, entity in enumerate(reply.entities if reply else []):
        label = _short(f"{entity.type.replace('_', ' ')} {entity.value}")
        if label in known:
            continue
        key = f"mention:{index}"
        graph.nodes[key] = GraphNode(key, "entity", label)
        owner = f"turn:{entity.turn_id}" if entity.turn_id is not None else current
        if owner in graph.nodes:
            graph.edges.append(GraphEdge(owner, key, "mentions", 0.1))
    return graph


class FittedView(QGraphicsView):
    """A view that keeps its whole scene in sight as the pane is resized (never cropped)."""

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        if self.scene() is not None and not self.scene().itemsBoundingRect().isEmpty():
            self.fitInView(self.scene().itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)


def share(weight: float) -> int:
    """A node's attention as a bar value (0-100)."""
    return round(100 * max(0.0, min(1.0, weight)))


class GraphView(QWidget):
    """The "Why" tab: the turns and what in them counted (a list with bars), and the
    screenshot with its boxes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("After an answer, this shows what the assistant looked at.")
        self.caption.setObjectName("why-caption")
        self.caption.setWordWrap(True)
        self.list = QTreeWidget()
        self.list.setObjectName("why-list")
        self.list.setColumnCount(2)
        self.list.setHeaderLabels(["Conversation", "How much it counted"])
        self.list.setWordWrap(True)
        self.list.setUniformRowHeights(False)
        self.list.setRootIsDecorated(False)
        self.list.header().setStretchLastSection(False)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.list.header().resizeSection(1, 130)
        self.shot_scene = QGraphicsScene(self)
        self.shot_view = FittedView(self.shot_scene)
        self.shot_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.shot_view)
        split.setSizes([420, 240])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)
        self.graph = ConversationGraph()

    def show_graph(self, turns: list[dict], reply: Reply | None) -> ConversationGraph:
        """List the session's turns with how much each counted for `reply`, and under each
        what it contributed (screenshot text, values found)."""
        self.graph = build_graph(turns, reply)
        self.list.clear()
        current = f"turn:{reply.turn_id}" if reply and reply.turn_id is not None else None
        below: dict[str, list[str]] = {}
        for edge in self.graph.edges:
            if edge.kind in ("contains", "mentions"):
                below.setdefault(edge.source, []).append(edge.target)
        for key, node in self.graph.nodes.items():
            if not key.startswith("turn:"):
                continue
            who = WHO.get(node.kind, node.kind.title())
            text = next((t.get("text") or "(screenshot)" for t in turns
                         if f"turn:{t['id']}" == key), node.label)
            answered = key == current
            item = self._row(None, f"{who}{' (answered)' if answered else ''}: {text}",
                             node.weight, bold=answered)
            for child in self._descendants(key, below):
                part = self.graph.nodes[child]
                said = ("Screenshot (the picture as a whole)" if part.kind == "screenshot"
                        else f"{PART.get(part.kind, part.kind)}: {part.label}")
                self._row(item, said, part.weight)
            item.setExpanded(True)
        self.caption.setText(self._caption(reply))
        return self.graph

    def _descendants(self, key: str, below: dict[str, list[str]]) -> list[str]:
        out: list[str] = []
        for child in below.get(key, []):
            out.append(child)
            out.extend(self._descendants(child, below))
        return out

    def _row(self, parent: QTreeWidgetItem | None, text: str, weight: float,
             bold: bool = False) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text, ""])
        item.setToolTip(0, text)
        if bold:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
        if parent is None:
            self.list.addTopLevelItem(item)
        else:
            parent.addChild(item)
        if weight > 0:
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(share(weight))
            bar.setFormat("%p%")
            bar.setMaximumHeight(16)
            self.list.setItemWidget(item, 1, bar)
        return item

    def _caption(self, reply: Reply | None) -> str:
        if reply is None:
            return "After an answer, this shows what the assistant looked at."
        counted = [n for n in self.graph.nodes.values() if n.weight > 0]
        intent = reply.intent.replace("_", " ")
        if not counted:
            return f"The assistant answered “{intent}” from the message alone."
        return (f"Why “{intent}”: the longer the bar, the more that part of the conversation "
                "counted for the answer. The turn answered is in bold.")

    def show_screenshot(self, image: QImage | None) -> int:
        """Draw the screenshot with the evidence boxes; returns how many boxes were outlined."""
        self.shot_scene.clear()
        if image is None or image.isNull():
            return 0
        self.shot_scene.addPixmap(QPixmap.fromImage(image))
        drawn = 0
        for node in self.graph.nodes.values():
            if node.kind != "box" or node.box is None:
                continue
            x0, y0, x1, y1 = node.box
            rect = QRectF(
                x0 * image.width(), y0 * image.height(),
                (x1 - x0) * image.width(), (y1 - y0) * image.height(),
            )
            strength = max(0.15, min(1.0, node.weight))
            colour = QColor(220, 40, 40)
            pen = QPen(colour)
            pen.setWidthF(1 + 5 * strength)
            fill = QColor(colour)
            fill.setAlphaF(0.25 * strength)
            self.shot_scene.addRect(rect, pen, QBrush(fill))
            drawn += 1
        self.shot_view.fit()
        return drawn
