"""The whole config as text in the editor: shown as YAML or JSON, read back strictly
(no duplicate keys, nothing that is not JSON data, within the document's size limits),
and checked as a whole."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from pipelines_admin.configs.engine import document_problems
from rules_engine import InputError, parse_config_text, plain_data_problems

FORMATS = ("yaml", "json")


def document_text(document: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def parse_document(text: str, fmt: str) -> tuple[Any, list[dict]]:
    """The document a text holds, read as the engine reads config files (a key given
    twice is refused, YAML dates stay text), or the reason it cannot be used: where
    reading stopped (with the line and column), or what makes it something other than
    plain JSON data (nothing else is converted, checked further or saved)."""
    try:
        document = parse_config_text(text, fmt)
    except InputError as exc:
        reason = str(exc)
        problem: dict[str, Any] = {"path": "", "message": reason[:1].upper() + reason[1:]}
        if exc.line is not None:
            problem.update(line=exc.line, column=exc.column)
        return None, [problem]
    problems = [problem.to_dict() for problem in plain_data_problems(document)]
    if problems:
        return None, problems
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
