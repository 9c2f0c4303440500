"""The rule catalogue of the config editor: every rule class a config may name, with
its title, summary, help (from its docstring) and group, as the add-a-rule page and the
stages and rules overview show them."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from pipelines_admin.configs.engine import rule_types

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
    return {
        name: RuleClassInfo(
            name=name,
            title=rule.title,
            summary=rule.summary,
            help=rule.description,
            group=labels.get(rule.category, "Other"),
            schema=rule.params_schema,
        )
        for name, rule in rule_types().items()
    }


def rule_class_groups() -> list[tuple[str, list[RuleClassInfo]]]:
    """The rule classes by group, in pipeline order, each group sorted by title."""
    groups: dict[str, list[RuleClassInfo]] = {label: [] for _, label in _GROUPS}
    for info in rule_catalogue().values():
        groups.setdefault(info.group, []).append(info)
    return [(label, sorted(items, key=lambda i: i.title.lower())) for label, items in groups.items() if items]
