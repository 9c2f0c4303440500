"""The settings of a rule and of a stage described as JSON Schemas, from the config
document's own schema, so that the editor generates their fields as it does a rule's
params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines_admin.configs.editing import rule_ids
from pipelines_admin.configs.engine import document_schema


def _document_defs() -> dict:
    return document_schema()["$defs"]


def _resolved(fragment: Mapping[str, Any], defs: Mapping[str, Any]) -> dict:
    ref = fragment.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in fragment.items() if k != "$ref"}}
    return dict(fragment)


def _decision_texts(defs: Mapping[str, Any], for_stage: bool) -> dict:
    """The reason code, customer message and next step fields of a rule, or of a stage
    (where they are the defaults of its rules)."""
    default = " Each rule of the stage that gives none uses this." if for_stage else ""
    return {
        "reason_code": {
            **defs["reason_code"],
            "title": "Reason code",
            "description": "The code of the reason given when this decides an application (declined, "
            "sent to review, not decided)." + (default or " Empty: the stage's, or else the rule id."),
            "examples": ["pep_match"],
        },
        "customer_message": {
            **defs["customer_message"],
            "title": "Message to the applicant",
            "description": "What may be told to the applicant. It may quote fields of the application "
            "as {state}, never personal data (PII)." + default,
        },
        "next_step": {
            **defs["next_step"],
            "title": "Next step",
            "description": "What the people who act on the decision do next." + default,
            "examples": ["Request additional information from customer"],
        },
    }


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
            "on_fail": {
                **rule_props["on_fail"],
                "title": "When it fails",
                "default": "fail",
                "description": "fail: the application fails (at error severity). review: it goes to a "
                "person instead, and every later check still runs.",
            },
            "on_error": {
                **rule_props["on_error"],
                "title": "When it errors or times out",
                "default": "error",
                "description": "error: the run is an error (the pipeline could not decide). review: "
                "the application goes to a person instead.",
            },
            "on_flag": {
                **rule_props["on_flag"],
                "title": "When it passes but flags the application",
                "default": "pass",
                "description": "For rules that flag a pass for manual review (a near sanctions match, a "
                "medium AML score). pass: it passes. review: it goes to a person.",
            },
            "review": {
                "type": "object",
                "title": "Review",
                "additionalProperties": False,
                "description": "How an application this rule sends to review is decided.",
                "properties": {
                    "approvals": {
                        **_resolved(rule_props["review"], defs)["properties"]["approvals"],
                        "title": "Approvals needed",
                        "examples": [2],
                        "description": "How many different reviewers must approve (1 when empty); one "
                        "decline ends the case.",
                    }
                },
            },
            **_decision_texts(defs, for_stage=False),
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
            **_decision_texts(defs, for_stage=True),
        },
    }
