"""A pipeline document as data for the console's pictures of it (pure functions, no
database):

- `pipeline_graph`: the dependency graph laid out for drawing. Stages are lanes
  (columns, in document order); each rule is a box stacked in its lane by dependency
  level; each dependency is an edge with its SVG path. A dependency on a rule of the
  same stage is a "dependency" edge (an arc in the lane's left gutter), one on a rule
  of an earlier stage a "cross_stage" edge (a curve from lane to lane). As the engine
  does, a `cross_stage_dependencies` entry naming a rule of the same stage counts as a
  same-stage dependency.
- `toggle_matrix`: stages and rules against environments, enabled or not in each.
- `annotated_lines`: an effective config as pretty-printed JSON lines, each leaf
  marked with where its value came from (the version, the override, or removed by it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rules_engine import escape_token, same_stage_dependencies, unescape_token

# Layout, in SVG user units (pixels at 100 %).
PADDING = 12
LANE_WIDTH = 204
LANE_GAP = 24
LANE_HEADER = 56
LANE_FOOTER = 32
GUTTER = 26  # left of the boxes, inside a lane: where same-stage arcs run
NODE_WIDTH = LANE_WIDTH - GUTTER - 10
NODE_HEIGHT = 44
ROW_GAP = 12
LABEL_CHARS = 30  # longer rule ids are shortened (the full id is in the box's title)
LABEL_CHAR_WIDTH = 6.9  # average advance of a label character (12px, semi-bold), to fit labels in boxes
CLASS_CHAR_WIDTH = 6.0  # the same for the class line (11px)

DEPENDENCY = "dependency"
CROSS_STAGE = "cross_stage"


def _stages(document: Any) -> dict:
    stages = document.get("stages") if isinstance(document, dict) else None
    return stages if isinstance(stages, dict) else {}


def _rules(stage: Any) -> dict:
    rules = stage.get("rules") if isinstance(stage, dict) else None
    return rules if isinstance(rules, dict) else {}


def _enabled(item: Any) -> bool:
    return not isinstance(item, dict) or item.get("enabled", True) is not False


def _dependency_list(rule: Any, key: str) -> list[str]:
    deps = rule.get(key) if isinstance(rule, dict) else None
    return [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Lane:
    stage: str
    index: int
    x: int
    y: int
    width: int
    height: int
    enabled: bool
    rule_count: int
    settings: tuple[str, ...]  # short facts: "fail fast", "parallel", "when …"

    @property
    def label(self) -> str:
        return shorten(self.stage, 30)

    @property
    def title_x(self) -> int:
        return self.x + 12

    @property
    def footer_y(self) -> int:
        return self.y + self.height - 12


@dataclass(frozen=True)
class Node:
    rule: str
    stage: str
    rule_class: str
    lane: int
    level: int
    row: int
    x: int
    y: int
    width: int
    height: int
    enabled: bool  # the rule's own flag
    stage_enabled: bool  # its stage's flag
    conditional: bool  # has a `when`
    severity: str

    @property
    def active(self) -> bool:
        return self.enabled and self.stage_enabled

    @property
    def label(self) -> str:
        return shorten(self.rule)

    @property
    def label_fit(self) -> int | None:
        """The width to squeeze the label into when it would overflow its box (None: it fits)."""
        room = self.width - 18
        return room if len(self.label) * LABEL_CHAR_WIDTH > room else None

    @property
    def class_label(self) -> str:
        return shorten(self.rule_class or "no class", 26 if self.tags else 30)

    @property
    def class_fit(self) -> int | None:
        room = self.width - 18 - (len(self.tags) * 6 + 8 if self.tags else 0)
        return room if len(self.class_label) * CLASS_CHAR_WIDTH > room else None

    @property
    def text_x(self) -> int:
        return self.x + 10

    @property
    def tags(self) -> str:
        tags = []
        if not self.enabled:
            tags.append("off")
        if self.conditional:
            tags.append("when")
        if self.severity == "warning":
            tags.append("warning")
        return " · ".join(tags)

    @property
    def tag_x(self) -> int:
        return self.x + self.width - 8


@dataclass(frozen=True)
class Edge:
    source: str  # the rule depended on
    target: str  # the rule that depends on it
    kind: str  # DEPENDENCY (same stage) or CROSS_STAGE
    source_stage: str
    target_stage: str
    path: str  # SVG path data, from source to target
    active: bool  # both ends enabled

    @property
    def is_cross_stage(self) -> bool:
        return self.kind == CROSS_STAGE

    @property
    def title(self) -> str:
        where = f" ({self.source_stage} → {self.target_stage})" if self.is_cross_stage else ""
        return f"{self.target} depends on {self.source}{where}"


@dataclass(frozen=True)
class Dangling:
    """A dependency naming no rule of this or an earlier stage (only invalid documents have them)."""

    rule: str
    stage: str
    dependency: str


@dataclass(frozen=True)
class PipelineGraph:
    lanes: list[Lane]
    nodes: list[Node]
    edges: list[Edge]
    dangling: list[Dangling]
    width: int
    height: int
    _by_rule: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)

    def node(self, rule: str) -> Node:
        return self._by_rule[rule]

    def lane_nodes(self, lane: Lane) -> list[Node]:
        return [n for n in self.nodes if n.lane == lane.index]

    @property
    def is_empty(self) -> bool:
        return not self.lanes

    @property
    def has_cross_stage(self) -> bool:
        return any(e.is_cross_stage for e in self.edges)


def _levels(rules: dict, same_stage: dict[str, list[str]]) -> dict[str, int]:
    """Topological level of each rule within its stage: 0 without same-stage
    dependencies, else one more than its deepest dependency (cycles are cut)."""
    levels: dict[str, int] = {}
    visiting: set[str] = set()

    def level(rule_id: str) -> int:
        if rule_id in levels:
            return levels[rule_id]
        if rule_id in visiting:
            return 0
        visiting.add(rule_id)
        deps = [d for d in same_stage.get(rule_id, []) if d != rule_id]
        result = 1 + max(level(d) for d in deps) if deps else 0
        visiting.discard(rule_id)
        levels[rule_id] = result
        return result

    for rule_id in rules:
        level(rule_id)
    return levels


def _stage_settings(stage: Any) -> tuple[str, ...]:
    if not isinstance(stage, dict):
        return ()
    facts = []
    if stage.get("fail_fast"):
        facts.append("fail fast")
    if stage.get("parallel_execution"):
        facts.append("parallel")
    if stage.get("when"):
        facts.append("when")
    return tuple(facts)


def _arc(source: Node, target: Node) -> str:
    """A same-stage dependency: from the source box's left side, out into the gutter
    and back into the target box's left side (further apart, wider arc)."""
    sx, sy = source.x, source.y + round(source.height * 0.7)
    tx, ty = target.x, target.y + round(target.height * 0.4)
    bulge = min(14 + 8 * (abs(target.row - source.row) - 1), GUTTER + 8)
    return f"M{sx} {sy} C{sx - bulge} {sy} {tx - bulge} {ty} {tx} {ty}"


def _curve(source: Node, target: Node) -> str:
    """A cross-stage dependency: from the source box's right side to the target box's left side."""
    sx, sy = source.x + source.width, source.y + source.height // 2
    tx, ty = target.x, target.y + target.height // 2
    reach = max(30, min(abs(tx - sx) // 2, 110))
    return f"M{sx} {sy} C{sx + reach} {sy} {tx - reach} {ty} {tx} {ty}"


class _Placed(NamedTuple):
    """A rule placed in its lane: the row it is drawn in, and what of its stage it needs."""

    lane: int
    stage: str
    rule_id: str
    rule: Any
    level: int
    row: int
    same_stage: list[str]  # the rules of its own stage it depends on


def pipeline_graph(document: Any) -> PipelineGraph:
    """Lay out the stages and rules of `document` (see the module docstring): place each
    rule in its lane, give lanes and rules their boxes, then draw the dependencies."""
    stages = _stages(document)
    placed = _place_rules(stages)
    lanes, nodes = _lay_out(stages, placed)
    edges, dangling = _connect(stages, placed, nodes)
    width = PADDING * 2 + len(lanes) * LANE_WIDTH + max(len(lanes) - 1, 0) * LANE_GAP
    by_rule: dict[str, Node] = {}
    for node in nodes:
        by_rule.setdefault(node.rule, node)
    return PipelineGraph(lanes, nodes, edges, dangling, width, PADDING * 2 + _lane_height(stages), by_rule)


def _lane_height(stages: dict) -> int:
    """Every lane is as tall as the one with the most rules (one row at least)."""
    max_rows = max([1] + [len(_rules(stage)) for stage in stages.values()])
    return LANE_HEADER + max_rows * (NODE_HEIGHT + ROW_GAP) + LANE_FOOTER


def _place_rules(stages: dict) -> list[_Placed]:
    """Each rule in its stage's lane, rows ordered by dependency level (then document
    order), with its same-stage dependencies as the engine reads them."""
    placed = []
    for index, (stage_name, stage) in enumerate(stages.items()):
        rules = _rules(stage)
        same_stage = {rule_id: same_stage_dependencies(rule, rules) for rule_id, rule in rules.items()}
        levels = _levels(rules, same_stage)
        order = sorted(enumerate(rules), key=lambda pair: (levels[pair[1]], pair[0]))
        for row, (_, rule_id) in enumerate(order):
            placed.append(
                _Placed(index, stage_name, rule_id, rules[rule_id], levels[rule_id], row, same_stage[rule_id])
            )
    return placed


def _lay_out(stages: dict, placed: list[_Placed]) -> tuple[list[Lane], list[Node]]:
    """A lane per stage, all as tall as the longest, and a box per placed rule."""
    lane_height = _lane_height(stages)
    lanes = [
        Lane(
            stage=stage_name,
            index=index,
            x=PADDING + index * (LANE_WIDTH + LANE_GAP),
            y=PADDING,
            width=LANE_WIDTH,
            height=lane_height,
            enabled=_enabled(stage),
            rule_count=len(_rules(stage)),
            settings=_stage_settings(stage),
        )
        for index, (stage_name, stage) in enumerate(stages.items())
    ]
    nodes = []
    for p in placed:
        lane, rule = lanes[p.lane], p.rule
        nodes.append(
            Node(
                rule=p.rule_id,
                stage=p.stage,
                rule_class=rule.get("class", "") if isinstance(rule, dict) else "",
                lane=p.lane,
                level=p.level,
                row=p.row,
                x=lane.x + GUTTER,
                y=lane.y + LANE_HEADER + p.row * (NODE_HEIGHT + ROW_GAP),
                width=NODE_WIDTH,
                height=NODE_HEIGHT,
                enabled=_enabled(rule),
                stage_enabled=lane.enabled,
                conditional=bool(isinstance(rule, dict) and rule.get("when")),
                severity=str(rule.get("severity", "error")) if isinstance(rule, dict) else "error",
            )
        )
    return lanes, nodes


def _connect(stages: dict, placed: list[_Placed], nodes: list[Node]) -> tuple[list[Edge], list[Dangling]]:
    """An edge per dependency: same-stage arcs, then cross-stage curves to the rule's
    first occurrence in an earlier lane; a name found nowhere earlier is dangling."""
    home: dict[str, tuple[int, str]] = {}  # rule id -> (lane, stage); first occurrence wins
    for index, (stage_name, stage) in enumerate(stages.items()):
        for rule_id in _rules(stage):
            home.setdefault(rule_id, (index, stage_name))
    by_key = {(node.stage, node.rule): node for node in nodes}
    edges: list[Edge] = []
    dangling: list[Dangling] = []
    for p in placed:
        target = by_key[(p.stage, p.rule_id)]
        for dep in p.same_stage:
            if dep == p.rule_id:
                continue
            source = by_key[(p.stage, dep)]
            edges.append(
                Edge(
                    dep,
                    p.rule_id,
                    DEPENDENCY,
                    p.stage,
                    p.stage,
                    _arc(source, target),
                    source.active and target.active,
                )
            )
        declared = _dependency_list(p.rule, "dependencies") + _dependency_list(
            p.rule, "cross_stage_dependencies"
        )
        for dep in dict.fromkeys(declared):
            if dep in p.same_stage or dep == p.rule_id:
                continue
            if dep not in home or home[dep][0] == p.lane:
                dangling.append(Dangling(p.rule_id, p.stage, dep))
                continue
            source = by_key[(home[dep][1], dep)]
            edges.append(
                Edge(
                    dep,
                    p.rule_id,
                    CROSS_STAGE,
                    source.stage,
                    p.stage,
                    _curve(source, target),
                    source.active and target.active,
                )
            )
    return edges, dangling


# -- the environment matrix ---------------------------------------------------------


@dataclass(frozen=True)
class MatrixCell:
    column: Any  # what the caller passed for this column (an environment and more)
    present: bool  # the stage/rule exists in that column's document
    enabled: bool = False  # its own `enabled` flag there
    stage_enabled: bool = True  # for rules: whether their stage is enabled there

    @property
    def runs(self) -> bool:
        return self.present and self.enabled and self.stage_enabled


@dataclass(frozen=True)
class MatrixRow:
    stage: str
    rule: str | None  # None: the stage's own row
    cells: tuple[MatrixCell, ...]

    @property
    def is_stage(self) -> bool:
        return self.rule is None

    @property
    def name(self) -> str:
        return self.rule or self.stage


def toggle_matrix(base: Any, columns: list[tuple[Any, Any]]) -> list[MatrixRow]:
    """One row per stage followed by one per rule of it, one cell per column.

    `columns` is [(column, document or None)]; a None document means the column has
    nothing to show (the pipeline is not released there). Rows follow `base`'s order;
    stages and rules found only in some column's document come after (so an
    environment running an older or newer version still shows all it runs)."""
    order: dict[str, dict[str, None]] = {}
    for document in [base] + [doc for _, doc in columns]:
        for stage_name, stage in _stages(document).items():
            rules = order.setdefault(stage_name, {})
            for rule_id in _rules(stage):
                rules.setdefault(rule_id, None)

    rows = []
    for stage_name, rule_ids in order.items():
        cells = []
        for column, document in columns:
            stage = _stages(document).get(stage_name)
            cells.append(
                MatrixCell(column, stage is not None, _enabled(stage) if stage is not None else False)
            )
        rows.append(MatrixRow(stage_name, None, tuple(cells)))
        for rule_id in rule_ids:
            cells = []
            for column, document in columns:
                stage = _stages(document).get(stage_name)
                rule = _rules(stage).get(rule_id) if stage is not None else None
                cells.append(
                    MatrixCell(
                        column,
                        rule is not None,
                        _enabled(rule) if rule is not None else False,
                        _enabled(stage) if stage is not None else False,
                    )
                )
            rows.append(MatrixRow(stage_name, rule_id, tuple(cells)))
    return rows


# -- an effective config, line by line ------------------------------------------------


@dataclass(frozen=True)
class ConfigLine:
    depth: int
    text: str  # the line without its indentation
    pointer: str  # JSON pointer of the value on this line ("" for the document)
    origin: str | None  # "base", "override", "removed" (leaves and removed keys), None for brackets
    value: str = ""  # a leaf's value as JSON

    @property
    def indent(self) -> str:
        return "  " * self.depth


def annotated_lines(document: Any, provenance: dict[str, str]) -> list[ConfigLine]:
    """`document` pretty-printed as JSON, one ConfigLine per line, each value's line
    carrying its provenance (pointer -> origin); keys the override removed appear as
    lines of their own, in the object they were removed from."""
    lines: list[ConfigLine] = []
    removed_under: dict[str, list[str]] = {}
    for pointer, origin in provenance.items():
        if origin == "removed":
            parent, _, token = pointer.rpartition("/")
            removed_under.setdefault(parent, []).append(token)

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def walk(value: Any, pointer: str, depth: int, prefix: str, comma: str) -> None:
        removed = removed_under.get(pointer, []) if isinstance(value, dict) else []
        if isinstance(value, dict) and (value or removed):
            lines.append(ConfigLine(depth, prefix + "{", pointer, None))
            items = list(value.items())
            for i, (key, child) in enumerate(items):
                last = i == len(items) - 1 and not removed
                walk(
                    child,
                    f"{pointer}/{escape_token(key)}",
                    depth + 1,
                    f"{dump(str(key))}: ",
                    "" if last else ",",
                )
            for token in removed:
                key = unescape_token(token)
                lines.append(
                    ConfigLine(
                        depth + 1, f"{dump(key)}: removed by the override", f"{pointer}/{token}", "removed"
                    )
                )
            lines.append(ConfigLine(depth, "}" + comma, pointer, None))
            return
        lines.append(
            ConfigLine(
                depth, prefix + dump(value) + comma, pointer, provenance.get(pointer, "base"), dump(value)
            )
        )

    walk(document, "", 0, "", "")
    return lines
