""""Why": the conversation graph the model read, and the screenshot with the boxes that mattered.

Nodes are turns, screenshots, OCR boxes and entities; an edge's thickness is the attention the
model gave it (from `reply.evidence`). The graph is built by `build_graph` (plain data, tested on
its own) and drawn with QGraphicsView; the screenshot pane draws the image with its OCR boxes
outlined, the stronger the attention the bolder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.types import Reply

KIND_COLOURS = {
    "customer": "#4a74b5",
    "agent": "#3a9a5b",
    "assistant": "#c9a227",
    "screenshot": "#8e5ab5",
    "box": "#b57a5a",
    "entity": "#d0543f",
}


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


def _short(text: str, n: int = 28) -> str:
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
    evidence (the model's attention per node, see engine.fusion.evidence) as weights and as
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


def layout_positions(graph: ConversationGraph) -> dict[str, QPointF]:
    """Turns down the middle in order; screenshots, boxes and entities fanned out beside them."""
    positions: dict[str, QPointF] = {}
    turn_keys = [k for k, n in graph.nodes.items() if k.startswith("turn:")]
    for row, key in enumerate(turn_keys):
        x = -120 if graph.nodes[key].kind == "customer" else 120
        positions[key] = QPointF(x, row * 90)
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        if edge.kind in ("contains", "mentions") and edge.source in positions:
            children.setdefault(edge.source, []).append(edge.target)
    for _ in range(2):  # turn -> screenshot -> box
        for parent, kids in list(children.items()):
            if parent not in positions:
                continue
            origin = positions[parent]
            side = -1 if origin.x() <= 0 else 1
            for i, kid in enumerate(kids):
                if kid in positions:
                    continue
                angle = (i - (len(kids) - 1) / 2) * 0.45
                radius = 170
                positions[kid] = QPointF(
                    origin.x() + side * radius * math.cos(angle),
                    origin.y() + radius * math.sin(angle),
                )
                for edge in graph.edges:
                    if edge.source == kid and edge.kind == "contains":
                        children.setdefault(kid, []).append(edge.target)
    for index, key in enumerate(k for k in graph.nodes if k not in positions):
        positions[key] = QPointF(0, -90 - 50 * index)
    return positions


class GraphView(QWidget):
    """The "Why" tab: graph on top, screenshot with highlighted boxes below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.shot_scene = QGraphicsScene(self)
        self.shot_view = QGraphicsView(self.shot_scene)
        self.shot_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.caption = QLabel("The graph of the last answer appears here.")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color:#555;")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.shot_view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)
        self.graph = ConversationGraph()

    def show_graph(self, turns: list[dict], reply: Reply | None) -> ConversationGraph:
        self.graph = build_graph(turns, reply)
        self.scene.clear()
        positions = layout_positions(self.graph)
        for edge in self.graph.edges:
            if edge.source not in positions or edge.target not in positions:
                continue
            pen = QPen(QColor("#d0543f" if edge.kind == "attends" else "#9aa4b2"))
            pen.setWidthF(1.0 + 9.0 * max(0.0, min(1.0, edge.weight)))
            if edge.kind == "order":
                pen.setStyle(Qt.PenStyle.DashLine)
            a, b = positions[edge.source], positions[edge.target]
            self.scene.addLine(a.x(), a.y(), b.x(), b.y(), pen).setZValue(-1)
        font = QFont()
        font.setPointSize(8)
        for key, node in self.graph.nodes.items():
            point = positions[key]
            radius = 14 + 10 * max(0.0, min(1.0, node.weight))
            colour = QColor(KIND_COLOURS.get(node.kind, "#777"))
            current = key == f"turn:{getattr(reply, 'turn_id', None)}"
            pen = QPen(QColor("#222") if current else colour)
            pen.setWidthF(2.5)
            self.scene.addEllipse(
                point.x() - radius, point.y() - radius, 2 * radius, 2 * radius, pen,
                QBrush(colour.lighter(150)),
            )
            text = self.scene.addSimpleText(node.label, font)
            text.setPos(point.x() - text.boundingRect().width() / 2, point.y() + radius + 2)
        self.view.fitInView(self.scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
        attended = sum(1 for e in self.graph.edges if e.kind in ("attends",) and e.weight > 0)
        self.caption.setText(
            f"{len(self.graph.nodes)} nodes, {len(self.graph.edges)} edges; thicker lines got "
            f"more attention ({attended} weighted links)."
            if reply
            else "The graph of the last answer appears here."
        )
        return self.graph

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
        self.shot_view.fitInView(
            self.shot_scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio
        )
        return drawn
