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
from typing import Any

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

from engine.types import Reply

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


UNWEIGHTED = 0.5  # evidence that names a node without an attention figure


def _weight(item: dict[str, Any]) -> float:
    for key in ("weight", "attention", "score"):
        if key in item:
            try:
                return float(item[key])
            except (TypeError, ValueError):
                return 0.0
    return UNWEIGHTED


def _short(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def evidence_items(evidence: Any) -> list[dict[str, Any]]:
    """Every node record in a reply's evidence ({kind, label, turn_id, box, weight, ...}),
    wherever the engine nested the list."""
    if isinstance(evidence, list):
        found = []
        for item in evidence:
            if isinstance(item, dict) and "kind" in item:
                found.append(item)
            elif isinstance(item, dict) and "turn_id" in item:  # {turn_id, role, why}
                found.append({**item, "kind": item.get("role") or "customer",
                              "label": item.get("why", "")})
        return found
    if isinstance(evidence, dict):
        found: list[dict[str, Any]] = []
        for value in evidence.values():
            found.extend(evidence_items(value))
        return found
    return []


def build_graph(turns: list[dict], reply: Reply | None) -> ConversationGraph:
    """The session's turns, screenshots, OCR boxes and entities as nodes, with the reply's
    evidence (the model's attention per node, see engine.fusion.model.evidence) as weights and as
    "attends" edges into the turn being answered: thicker = more attention."""
    graph = ConversationGraph()
    items = evidence_items(reply.evidence if reply else None)
    current = f"turn:{reply.turn_id}" if reply and reply.turn_id is not None else None
    spoken = [t for t in turns if t.get("role") != "assistant"]
    index_of = {int(t["id"]): i for i, t in enumerate(spoken)}

    previous = None
    shots_of: dict[int, list[str]] = {}
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
                shots_of.setdefault(index_of[int(turn["id"])], []).append(shot)

    def owner_turn(item: dict[str, Any]) -> str | None:
        if item.get("turn_id") is not None and f"turn:{item['turn_id']}" in graph.nodes:
            return f"turn:{item['turn_id']}"
        turn_index = item.get("turn")
        if isinstance(turn_index, int) and 0 <= turn_index < len(spoken):
            return f"turn:{spoken[turn_index]['id']}"
        return current

    for index, item in enumerate(items):
        kind, weight = item.get("kind"), _weight(item)
        turn_key = owner_turn(item)
        if kind in ("customer", "agent") and turn_key in graph.nodes:
            graph.nodes[turn_key].weight = max(graph.nodes[turn_key].weight, weight)
            node_key = turn_key
        else:
            turn_index = index_of.get(int(turn_key.split(":")[1])) if turn_key else None
            shots = shots_of.get(turn_index, []) if turn_index is not None else []
            shot = shots[min(int(item.get("screenshot") or 0), len(shots) - 1)] if shots else None
            if kind == "screenshot" and shot:
                graph.nodes[shot].weight = max(graph.nodes[shot].weight, weight)
                node_key = shot
            else:
                node_key = f"{kind}:{index}"
                box = item.get("box")
                graph.nodes[node_key] = GraphNode(
                    node_key, "box" if kind == "block" else str(kind),
                    _short(str(item.get("label", ""))), weight,
                    tuple(float(v) for v in box) if box and len(box) == 4 else None,
                )
                parent = shot if kind == "block" and shot else turn_key
                if parent:
                    link = "contains" if kind == "block" else "mentions"
                    graph.edges.append(GraphEdge(parent, node_key, link, 0.1))
        if current and node_key != current and current in graph.nodes:
            graph.edges.append(GraphEdge(node_key, current, "attends", weight))

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
