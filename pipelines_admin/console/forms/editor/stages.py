"""The stage form of the config editor: a stage's settings (its rules are edited one
by one), validated like the rule form, on the candidate document as a whole."""

from __future__ import annotations

from pipelines_admin.configs.editing import STAGE_SETTINGS, set_stage_settings, stage_get
from pipelines_admin.configs.engine import document_problems
from pipelines_admin.console.forms.editor.schema_form import SchemaForm
from pipelines_admin.console.forms.editor.settings_schemas import stage_settings_schema
from rules_engine import json_pointer


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
        self.problems = self.settings.attach_problems(problems, json_pointer(("stages", self.stage)))
        self.validated = True
        if self.problems or self.settings.has_errors:
            return None
        return document

    @property
    def error_count(self) -> int:
        return len(self.problems) + sum(len(f.errors) for f in self.settings.walk())
