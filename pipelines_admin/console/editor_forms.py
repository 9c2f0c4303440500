"""The forms of the config editor: a rule (its params and settings), a stage's
settings, and the whole document as YAML or JSON.

Each form starts from the version the user is editing (its document), reads what
was submitted, builds the candidate document (that version with this one change) and
validates it whole with ``configs.engine.document_problems``, putting each problem
beside the field it belongs to and listing the others on top.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from pipelines_admin.configs.editing import (
    RULE_SETTINGS,
    STAGE_SETTINGS,
    add_rule,
    rule_get,
    rule_ids,
    set_rule_params,
    set_rule_settings,
    set_stage_settings,
    stage_get,
)
from pipelines_admin.configs.engine import (
    DOCUMENT_MAX_DEPTH,
    DOCUMENT_MAX_VALUES,
    document_problems,
    document_schema,
    rule_classes,
)
from pipelines_admin.console.schema_forms import MISSING, SchemaForm

# ---------------------------------------------------------------- the rule catalogue

_GROUPS = (
    ("preprocessing", "Preprocessing"),
    ("data_quality", "Data quality"),
    ("compliance", "Compliance"),
    ("business", "Business rules"),
    ("post_processing", "Post-processing"),
)


@dataclass(frozen=True)
class RuleClassInfo:
    name: str
    title: str
    summary: str
    help: str
    group: str
    schema: dict

    @property
    def help_html(self) -> SafeString:
        return docstring_html(self.help)


def _inline(text: str) -> str:
    return re.sub(r"``(.+?)``|`(.+?)`", lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escape(text))


def docstring_html(text: str) -> SafeString:
    """A rule's docstring as HTML: paragraphs, bulleted lists ("- " lines, wrapped
    lines continuing the item) and ``code``."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in inspect.cleandoc(text or "").splitlines():
        line = raw.strip()
        if not line:
            blocks.append(("", []))
        elif line.startswith("- "):
            if not blocks or blocks[-1][0] != "ul":
                blocks.append(("ul", []))
            blocks[-1][1].append(line[2:])
        elif blocks and blocks[-1][0] == "ul" and raw.startswith(" "):
            blocks[-1][1][-1] += " " + line
        elif blocks and blocks[-1][0] == "p":
            blocks[-1][1][-1] += " " + line
        else:
            blocks.append(("p", [line]))
    html = []
    for kind, parts in blocks:
        if kind == "p":
            html.append(f"<p>{_inline(parts[0])}</p>")
        elif kind == "ul":
            html.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in parts) + "</ul>")
    return mark_safe("\n".join(html))  # noqa: S308 - every piece of text is escaped by _inline


@lru_cache(maxsize=1)
def rule_catalogue() -> dict[str, RuleClassInfo]:
    """Every rule class a config may name, with what the editor shows about it."""
    labels = dict(_GROUPS)
    catalogue = {}
    for name, cls in rule_classes().items():
        schema = getattr(cls, "params_schema", None) or {"type": "object"}
        module = cls.__module__.rsplit(".", 1)[-1]
        catalogue[name] = RuleClassInfo(
            name=name,
            title=str(schema.get("title") or name),
            summary=str(schema.get("description") or ""),
            help=cls.describe(),
            group=labels.get(module, "Other"),
            schema=schema,
        )
    return catalogue


def rule_class_groups() -> list[tuple[str, list[RuleClassInfo]]]:
    """The rule classes by group, in pipeline order, each group sorted by title."""
    groups: dict[str, list[RuleClassInfo]] = {label: [] for _, label in _GROUPS}
    for info in rule_catalogue().values():
        groups.setdefault(info.group, []).append(info)
    return [(label, sorted(items, key=lambda i: i.title.lower())) for label, items in groups.items() if items]


# ----------------------------------------------------- schemas of rule and stage settings


def _document_defs() -> dict:
    return document_schema()["$defs"]


def _resolved(fragment: Mapping[str, Any], defs: Mapping[str, Any]) -> dict:
    ref = fragment.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in fragment.items() if k != "$ref"}}
    return dict(fragment)


_WHEN_HELP = (
    "A condition in CEL over record (the application) and context, for example "
    'record.country == "US" && record.amount > 1000. Leave empty to always run.'
)


def rule_settings_schema(document: Mapping[str, Any], stage: str, rule_id: str | None) -> dict:
    """The settings of one rule as an object schema the form generator reads: the
    pipeline schema's rule keywords, with titles, help, and the rules it may depend on
    as choices."""
    defs = _document_defs()
    rule_props = defs["rule"]["properties"]
    retry = _resolved(rule_props["retry"], defs)
    ids = rule_ids(document)
    order = list(document.get("stages") or {})
    here = order.index(stage) if stage in order else len(order)
    same_stage = [rid for rid, st in ids.items() if st == stage and rid != rule_id]
    earlier = [rid for rid, st in ids.items() if st in order[:here]]

    def text(title, description, **extra):
        return {"type": "string", "title": title, "description": description, **extra}

    retry_props = retry["properties"]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": text(
                "Description", "What this rule is for, in a sentence (shown to other editors)."
            ),
            "enabled": {
                "type": "boolean",
                "title": "Enabled",
                "default": True,
                "description": "Untick to keep the rule in the config without running it.",
            },
            "severity": {
                "type": "string",
                "enum": rule_props["severity"]["enum"],
                "title": "Severity",
                "default": "error",
                "description": "error: a failure fails the stage. warning: a failure is reported "
                "but does not fail the stage.",
            },
            "timeout_seconds": {
                **_resolved(rule_props["timeout_seconds"], defs),
                "title": "Timeout (seconds)",
                "description": "Give up on the rule after this long (outcome: timeout). Empty: "
                "the stage's timeout applies.",
                "examples": [5],
            },
            "when": text("Run only when", _WHEN_HELP),
            "dependencies": {
                "type": "array",
                "uniqueItems": True,
                "items": {"type": "string", "enum": same_stage},
                "title": "Runs after (this stage)",
                "description": "Rules of this stage that must pass first; when one does not, "
                "this rule is skipped.",
            },
            "cross_stage_dependencies": {
                "type": "array",
                "uniqueItems": True,
                "items": {"type": "string", "enum": earlier},
                "title": "Runs after (earlier stages)",
                "description": "Rules of earlier stages that must have passed; when one did not, this rule is "
                "skipped.",
            },
            "retry": {
                "type": "object",
                "title": "Retries",
                "additionalProperties": False,
                "description": "Run the rule again when it errors or times out (and, if chosen, when it fails). "
                "Leave empty for no retries.",
                "properties": {
                    "max_attempts": {
                        **retry_props["max_attempts"],
                        "title": "Attempts",
                        "examples": [3],
                        "description": "How many times to run it at most, the first time included.",
                    },
                    "backoff_seconds": {
                        **retry_props["backoff_seconds"],
                        "title": "Wait before retrying (seconds)",
                        "description": "The wait before the second attempt.",
                        "examples": [0.5],
                    },
                    "backoff_multiplier": {
                        **retry_props["backoff_multiplier"],
                        "title": "Wait multiplier",
                        "description": "Each later wait is the previous one times this (2 doubles it).",
                        "examples": [2],
                    },
                    "retry_on": {
                        **retry_props["retry_on"],
                        "title": "Retry on",
                        "description": "The outcomes that are retried (error and timeout when empty).",
                    },
                },
            },
        },
    }


def stage_settings_schema() -> dict:
    """The settings of a stage as an object schema the form generator reads."""
    defs = _document_defs()
    props = defs["stage"]["properties"]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {
                "type": "string",
                "title": "Description",
                "description": "What this stage is for, in a sentence.",
            },
            "enabled": {
                "type": "boolean",
                "title": "Enabled",
                "default": True,
                "description": "Untick to skip the whole stage (its rules are reported as skipped).",
            },
            "fail_fast": {
                "type": "boolean",
                "title": "Stop at the first failure",
                "default": False,
                "description": "When a rule fails, the rules of this stage not run yet are skipped.",
            },
            "parallel_execution": {
                "type": "boolean",
                "title": "Run rules in parallel",
                "default": False,
                "description": "Run every rule whose dependencies are met at the same time.",
            },
            "max_parallel_rules": {
                **props["max_parallel_rules"],
                "title": "Rules at the same time",
                "description": "With parallel execution: how many rules may run at once. "
                "Empty: the pipeline's execution setting.",
                "examples": [4],
            },
            "timeout_seconds": {
                **_resolved(props["timeout_seconds"], defs),
                "title": "Timeout (seconds)",
                "description": "How long each rule of the stage may take (a rule's own timeout "
                "wins). Empty: the pipeline's default timeout.",
                "examples": [10],
            },
            "when": {
                "type": "string",
                "title": "Run only when",
                "description": _WHEN_HELP.replace("to always run", "to always run the stage"),
            },
        },
    }


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


# --------------------------------------------------------------------- rule form

RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


class RuleForm:
    """The params and settings of one rule: an existing one (``rule_id``) or a new one
    of ``class_name`` (``adding``; its id comes from the submitted ``rule_id``)."""

    def __init__(
        self,
        *,
        document: dict,
        stage: str,
        class_name: str,
        rule_id: str = "",
        data=None,
        adding: bool = False,
    ):
        self.document = document
        self.stage = stage
        self.adding = adding
        self.data = data
        stage_get(document, stage)  # DocumentEditError when the stage does not exist
        if adding:
            self.rule_id = (data.get("rule_id", "") if data is not None else "").strip()
            current: dict = {}
        else:
            self.rule_id = rule_id
            current = rule_get(document, stage, rule_id)
            class_name = str(current.get("class", ""))
        self.class_name = class_name
        self.info = rule_catalogue().get(class_name)
        params_schema = self.info.schema if self.info else {"type": "object", "title": "Params"}
        self.had_params = "params" in current
        self.params = SchemaForm(params_schema, current.get("params", MISSING), data, prefix="p")
        settings = {k: current[k] for k in RULE_SETTINGS if k in current}
        self.settings = SchemaForm(
            rule_settings_schema(document, stage, None if adding else rule_id), settings, data, prefix="s"
        )
        self.position: int | None = None  # where a new rule goes among the stage's rules (None: last)
        self.id_errors: list[str] = []
        self.problems: list[dict] = []
        self.validated = False

    def _check_id(self) -> str:
        """The id the candidate uses (a stand-in while the typed one is not usable)."""
        if not self.adding:
            return self.rule_id
        taken = rule_ids(self.document)
        if not self.rule_id:
            self.id_errors.append("Give the rule an id, for example credit_score_check.")
        elif not RULE_ID.match(self.rule_id):
            self.id_errors.append("Start with a letter; use letters, digits, _ and - only.")
        elif self.rule_id in taken:
            self.id_errors.append(
                f"There is already a rule {self.rule_id} (in stage {taken[self.rule_id]}); "
                "rule ids are unique across the pipeline."
            )
        else:
            return self.rule_id
        stand_in, n = "new_rule", 1
        while stand_in in taken:
            n += 1
            stand_in = f"new_rule_{n}"
        return stand_in

    def candidate(self) -> tuple[str, dict]:
        """The id used and the whole document with this rule as submitted."""
        params = self.params.parse()
        settings = self.settings.parse()
        rid = self._check_id()
        if self.adding:
            rule = {"class": self.class_name, "params": params, **settings}
            return rid, add_rule(self.document, self.stage, rid, rule, self.position)
        document = self.document
        if self.had_params or params:
            document = set_rule_params(document, self.stage, rid, params)
        return rid, set_rule_settings(document, self.stage, rid, settings)

    def validate(self) -> dict | None:
        """The candidate document when it is valid; otherwise None, with every problem
        beside its field or in :attr:`problems`."""
        rid, document = self.candidate()
        base = _pointer("stages", self.stage, "rules", rid)
        problems = document_problems(document)
        problems = self.params.attach_problems(problems, base + "/params")
        problems = self.settings.attach_problems(problems, base)
        self.problems = problems
        self.validated = True
        if problems or self.id_errors or self.params.has_errors or self.settings.has_errors:
            return None
        return document

    @property
    def error_count(self) -> int:
        fields = [f for form in (self.params, self.settings) for f in form.walk()]
        return len(self.problems) + len(self.id_errors) + sum(len(f.errors) for f in fields)


def suggested_rule_id(document: Mapping[str, Any], class_name: str) -> str:
    """A free id for a new rule of ``class_name``, from its class name
    (CreditScoreValidationRule -> credit_score_validation)."""
    stem = re.sub(r"Rule$", "", class_name) or "rule"
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", stem).lower()
    taken = rule_ids(document)
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}_{n}"
    return candidate


# --------------------------------------------------------------------- stage form


class StageForm:
    """The settings of one stage (its rules are edited one by one)."""

    def __init__(self, *, document: dict, stage: str, data=None):
        self.document = document
        self.stage = stage
        current = stage_get(document, stage)
        self.rule_count = len(current.get("rules") or {})
        settings = {k: current[k] for k in STAGE_SETTINGS if k in current}
        self.settings = SchemaForm(stage_settings_schema(), settings, data, prefix="s")
        self.problems: list[dict] = []
        self.validated = False

    def validate(self) -> dict | None:
        document = set_stage_settings(self.document, self.stage, self.settings.parse())
        problems = document_problems(document)
        self.problems = self.settings.attach_problems(problems, _pointer("stages", self.stage))
        self.validated = True
        if self.problems or self.settings.has_errors:
            return None
        return document

    @property
    def error_count(self) -> int:
        return len(self.problems) + sum(len(f.errors) for f in self.settings.walk())


# ------------------------------------------------------------- the whole document as text

FORMATS = ("yaml", "json")


class _StrictLoader(yaml.SafeLoader):
    """YAML as data: a key given twice is an error (rather than the last one silently
    winning), and dates stay text (a config holds JSON values only)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            duplicate = False
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        try:
            seen[key] = key_node
        except TypeError:
            pass
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)  # type: ignore[type-var]


def document_text(document: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _not_json(value: Any, path: str = "") -> dict | None:
    """The first place where ``value`` holds something JSON cannot (non-text keys,
    binary, sets, ...), or a document no config is (nested past DOCUMENT_MAX_DEPTH, or
    holding more than DOCUMENT_MAX_VALUES values: YAML aliases count once per use, so a
    1 KB "billion laughs" text is refused instead of walked for hours). Iterative."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    visited = 0
    while stack:
        item, where, depth = stack.pop()
        visited += 1
        if visited > DOCUMENT_MAX_VALUES:
            return {
                "path": "",
                "message": f"The document holds more than {DOCUMENT_MAX_VALUES:,} values (YAML "
                "aliases count each time they are used); a config is never that large.",
            }
        if isinstance(item, (dict, list)) and depth >= DOCUMENT_MAX_DEPTH:
            return {
                "path": where,
                "message": f"This value nests lists and objects more than {DOCUMENT_MAX_DEPTH} "
                "levels deep; a config is never that deep.",
            }
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if not isinstance(key, str):
                    return {"path": where, "message": f"The key {key!r} must be text: put it in quotes."}
                if not _is_unicode(key):
                    return {
                        "path": where,
                        "message": "A key here is not valid Unicode text (a lone surrogate).",
                    }
                children.append((child, f"{where}/{key.replace('~', '~0').replace('/', '~1')}", depth + 1))
            stack.extend(reversed(children))  # the first problem in document order is the one reported
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{where}/{i}", depth + 1) for i, child in enumerate(item)]))
        elif isinstance(item, str):
            if not _is_unicode(item):
                return {
                    "path": where,
                    "message": "This text is not valid Unicode (it holds a lone surrogate).",
                }
        elif item is None or isinstance(item, (bool, int)):
            continue
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return {"path": where, "message": "Numbers must be finite (no .nan or .inf)."}
        else:
            return {
                "path": where,
                "message": f"This value ({type(item).__name__}) is not JSON data: put it in quotes.",
            }
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_document(text: str, fmt: str) -> tuple[Any, list[dict]]:
    """The document a text holds, or the reason it cannot be read: a problem with the
    line and column where reading stopped."""
    if fmt == "json":
        try:
            return json.loads(text), []
        except json.JSONDecodeError as exc:
            return None, [
                {
                    "path": "",
                    "line": exc.lineno,
                    "column": exc.colno,
                    "message": f"Not valid JSON: {exc.msg}.",
                }
            ]
        except RecursionError:
            return None, [{"path": "", "message": "Not valid JSON: it is nested too deeply."}]
        except ValueError:  # Python refuses integers of more than 4,300 digits
            return None, [{"path": "", "message": "Not valid JSON: it holds a number with too many digits."}]
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        return None, [{"path": "", "message": "Not valid YAML: it is nested too deeply."}]
    except ValueError as exc:  # e.g. Python refuses integers of more than 4,300 digits
        reason = "it holds a number with too many digits" if "digits" in str(exc) else str(exc).rstrip(".")
        return None, [{"path": "", "message": f"Not valid YAML: {reason}."}]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = " ".join(
            str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
        ) or str(exc)
        problem = {"path": "", "message": f"Not valid YAML: {reason}."}
        if mark is not None:
            problem.update(line=mark.line + 1, column=mark.column + 1)
        return None, [problem]
    found = _not_json(document)
    if found:
        return None, [found]
    return document, []


@dataclass
class RawCheck:
    document: Any
    problems: list[dict]
    readable: bool

    @property
    def valid(self) -> bool:
        return self.readable and not self.problems


def check_text(text: str, fmt: str) -> RawCheck:
    """Read the text and validate the document it holds, listing every problem."""
    document, problems = parse_document(text, fmt)
    if problems:
        return RawCheck(None, problems, readable=False)
    return RawCheck(document, document_problems(document), readable=True)
