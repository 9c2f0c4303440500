"""The rule form of the config editor: a rule's params (generated from its class's
params schema) and settings, for an existing rule or a new one.

The form starts from the version the user is editing (its document), reads what was
submitted, builds the candidate document (that version with this one change) and
validates it whole with ``configs.engine.document_problems``, putting each problem
beside the field it belongs to and listing the others on top."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pipelines_admin.configs.editing import (
    RULE_SETTINGS,
    add_rule,
    rule_get,
    rule_ids,
    set_rule_params,
    set_rule_settings,
    stage_get,
)
from pipelines_admin.configs.engine import document_problems
from pipelines_admin.console.forms.editor.catalogue import rule_catalogue
from pipelines_admin.console.forms.editor.schema_form import MISSING, SchemaForm
from pipelines_admin.console.forms.editor.settings_schemas import rule_settings_schema
from rules_engine import json_pointer

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
        base = json_pointer(("stages", self.stage, "rules", rid))
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
