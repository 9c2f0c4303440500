"""Sample applications to start a test run from (shipped with rules_engine), each
described against the config it would run on: the rules are found by class (ids differ
between pipelines), their params read as the engine reads them, ages counted from today."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from pipelines_admin.configs.models import ConfigVersion, Pipeline
from pipelines_admin.configs.selectors import (
    EffectiveConfig,
    effective_config,
    environment_get,
    version_latest,
)
from pipelines_admin.core.errors import NotFound
from rules_engine import default_rule_registry, rule_type


@lru_cache(maxsize=1)
def sample_applications() -> tuple[dict, ...]:
    """({"key", "name", "description", "record"}, ...) in the shipped order; the shipped
    description is fixed text (see `samples_described` for one that follows a config)."""
    raw = json.loads(
        resources.files("rules_engine.examples").joinpath("applications.json").read_text("utf-8")
    )
    return tuple(
        {
            "key": slugify(s["name"]),
            "name": s["name"],
            "description": s.get("description", ""),
            "record": s["record"],
        }
        for s in raw
    )


def sample_get(key: str) -> dict | None:
    return next((s for s in sample_applications() if s["key"] == key), None)


@dataclass(frozen=True)
class SampleBasis:
    """The config samples are described against: what runs in `environment` (its live
    version and override), else the latest version when nothing runs there."""

    environment: str
    document: dict
    effective: EffectiveConfig | None
    latest: ConfigVersion | None


def sample_basis(pipeline: Pipeline, environment: str) -> SampleBasis:
    try:
        effective = effective_config(pipeline, environment_get(environment))
        return SampleBasis(environment, effective.document, effective, effective.version)
    except NotFound:
        latest = version_latest(pipeline)
        return SampleBasis(environment, latest.document if latest else {}, None, latest)


def samples_described(document: dict, today: date | None = None) -> list[dict]:
    """The samples, each described against `document` (a whole pipeline config)."""
    today = today or timezone.now().date()
    described = []
    for sample in sample_applications():
        describe = _DESCRIBE.get(sample["key"])
        text = describe(_Config(document), sample["record"], today) if describe else sample["description"]
        described.append({**sample, "description": text})
    return described


# -- finding rules by class -------------------------------------------------------------------


@dataclass(frozen=True)
class FoundRule:
    rule: Any  # the rule, set up from its params, so their defaults apply as in a run
    enabled: bool  # the rule and its stage are on


class _Config:
    def __init__(self, document: Any):
        self.document = document if isinstance(document, dict) else {}

    def rules(self, class_name: str) -> list[FoundRule]:
        """The rules whose class is the rule type `class_name` or derives from it, enabled ones first."""
        registry = default_rule_registry()
        base = rule_type(class_name)
        found = []
        stages = self.document.get("stages")
        for stage in stages.values() if isinstance(stages, dict) else []:
            rules = stage.get("rules") if isinstance(stage, dict) else None
            for rule_id, rule in rules.items() if isinstance(rules, dict) else []:
                cls = registry.get(rule.get("class", "")) if isinstance(rule, dict) else None
                if cls is None or not issubclass(cls, base):
                    continue
                try:
                    instance = cls(rule_id, rule.get("params") or {})
                except (KeyError, TypeError, ValueError):  # params the engine would refuse too
                    continue
                found.append(FoundRule(instance, _on(stage) and _on(rule)))
        return sorted(found, key=lambda f: not f.enabled)

    def rule(self, class_name: str) -> FoundRule | None:
        found = self.rules(class_name)
        return found[0] if found else None


def _on(item: dict) -> bool:
    return item.get("enabled", True) is not False


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _money(amount: float) -> str:
    return f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"


# -- one description per sample --------------------------------------------------------------


def _applicant_age(record: dict, config: _Config, today: date) -> tuple[FoundRule | None, int | None, str]:
    """The age check, the applicant's age today, and "a 16-year-old applicant (born ...)"."""
    check = config.rule("AgeVerificationRule")
    reader: Any = check.rule if check else rule_type("AgeVerificationRule")("age_verification", {})
    born = reader.date_of_birth(record)
    if born is None:
        return check, None, "an applicant"
    age = reader.age(born, today)
    article = "an" if age in (8, 11, 18) or 80 <= age <= 89 else "a"  # as the number is said
    return check, age, f"{article} {age}-year-old applicant (born {born.isoformat()})"


def _age_requirement(check: FoundRule | None) -> str:
    if check is None:
        return "this pipeline has no age check"
    if not check.enabled:
        return "the age check is turned off here"
    return f"the age check requires {check.rule.minimum_age}"


def _minor(config: _Config, record: dict, today: date) -> str:
    check, age, who = _applicant_age(record, config, today)
    text = f"{who[0].upper()}{who[1:]}; {_age_requirement(check)}"
    if check and check.enabled and age is not None:
        text += ", so it fails" if age < check.rule.minimum_age else ", so it passes"
    return text + "."


def _good_applicant(config: _Config, record: dict, today: date) -> str:
    check, _, who = _applicant_age(record, config, today)
    means = []
    if record.get("credit_score") is not None:
        means.append(f"a declared credit score of {record['credit_score']}")
    if record.get("annual_income") is not None:
        means.append(f"an income of {_money(record['annual_income'])} a year")
    text = (
        f"A complete, consistent application from {who}"
        + (f" in {record['state']}" if record.get("state") else "")
        + (f" with {_and(means)}" if means else "")
    )
    credit, income = config.rule("CreditScoreRule"), config.rule("IncomeVerificationRule")
    if not (check or credit or income):
        return f"{text}; this pipeline has no age, credit or income check."
    needs = [_age_requirement(check)] if check else []
    if credit:
        needs.append(
            f"the credit check requires a score of {credit.rule.minimum}"
            if credit.enabled
            else "the credit check is turned off here"
        )
    if income:
        if not income.enabled:
            needs.append("income verification is turned off here")
        elif income.rule.minimum:
            needs.append(f"income verification requires {_money(income.rule.minimum)} a month")
        else:
            needs.append("income verification accepts any verified income")
    return f"{text}; {_and(needs)}."


def _missing_email(config: _Config, record: dict, today: date) -> str:
    text = "The same kind of applicant without an email address"
    checks = config.rules("RequiredFieldsRule")
    if not checks:
        return f"{text}; this pipeline has no required-fields check."
    on = [c for c in checks if c.enabled]
    if not on:
        return f"{text}; the required-fields check is turned off here."
    required = list(dict.fromkeys(f for c in on for f in c.rule.params.get("required_fields", [])))
    if "email" in required:
        return (
            f"{text}; the required-fields check asks for {_and(required)}, so it fails with “missing: email”."
        )
    return f"{text}; the required-fields check does not ask for one (it asks for {_and(required)})."


def _sanctions_hit(config: _Config, record: dict, today: date) -> str:
    name = record.get("name") or "someone"
    text = (
        f"An applicant named “{name}”, close to a listed name on the fictional watch list shipped for demos"
    )
    screening = config.rule("SanctionsScreeningRule")
    if screening is None:
        return f"{text}; this pipeline has no sanctions screening."
    if not screening.enabled:
        return f"{text}; sanctions screening is turned off here."
    rule = screening.rule
    lists = _and(rule.lists) if rule.lists else "every list"
    return f"{text}; sanctions screening ({lists}) fails names that score {rule.threshold:.2f} or more."


_DESCRIBE: dict[str, Callable[[_Config, dict, date], str]] = {
    "good-applicant": _good_applicant,
    "missing-email": _missing_email,
    "minor": _minor,
    "sanctions-hit": _sanctions_hit,
}
