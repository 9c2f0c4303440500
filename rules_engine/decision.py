"""What a run decides, in words people act on: the reasons and the next steps.

A rule (or a stage, as the default for its rules) may declare ``reason_code``,
``customer_message`` and ``next_step``. When a run is decided, the rules that decided
it give its reasons, in pipeline order:

- ``failed``: the rules whose fail failed the application;
- ``error``: the rules that ended ``error`` or ``timeout`` (the pipeline could not decide);
- ``undecided``: the enabled rules whose check did not run;
- ``review``: the rules whose result was routed to a person (``on_fail`` /
  ``on_error`` / ``on_flag: review``);
- ``passed``: none.

Each reason is ``{"stage", "rule", "outcome", "reason_code", "customer_message"}``; the
reason code defaults to the rule id and the customer message to null. ``next_steps`` are
those rules' next steps, in the same order, each once. ``review`` says which rules sent
the application to review and how many different reviewers must approve it (the
largest ``review.approvals`` among them); null unless the status is ``review``.

A customer message may quote record fields as ``{field}`` (the record after its
transformations; a missing field quotes as nothing); ``{{`` and ``}}`` are braces.
Validation refuses a quoted field marked PII: a customer message is what may be told
to the applicant, and it leaves the bank's masking behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any, NamedTuple

__all__ = ["DecisionText", "decision_text", "message_fields", "render_message"]

#: a field a customer message may quote: a record field name, nothing more
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DecisionText(NamedTuple):
    """What one rule says when it decides a run (stage defaults already applied)."""

    reason_code: str
    customer_message: str | None
    next_step: str | None
    #: how many different reviewers must approve a result it routes to review
    approvals: int


def decision_text(rule_id: str, rule: Mapping[str, Any], stage: Mapping[str, Any]) -> DecisionText:
    """The rule's own reason code, customer message and next step, else its stage's."""

    def own_or_stage(key: str) -> Any:
        value = rule.get(key)
        return value if value is not None else stage.get(key)

    review = rule.get("review")
    approvals = review.get("approvals", 1) if isinstance(review, Mapping) else 1
    return DecisionText(
        own_or_stage("reason_code") or rule_id,
        own_or_stage("customer_message"),
        own_or_stage("next_step"),
        int(approvals),
    )


def message_fields(template: str) -> list[str]:
    """The record fields ``template`` quotes, in order. ValueError (a sentence saying
    what is wrong) for a template that is not plain ``{field}`` quoting: unbalanced
    braces, an empty ``{}``, attribute or index access, conversions or format specs."""
    fields = []
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as error:
        raise ValueError(
            f"The message has a stray brace ({error}); write {{{{ and }}}} for braces."
        ) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not _FIELD_NAME.match(field) or spec or conversion:
            shown = (
                "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            )
            raise ValueError(
                f"The message quotes {shown}; quote a record field by its name only, like {{state}}."
            )
        fields.append(field)
    return fields


def render_message(template: str | None, data: Mapping[str, Any]) -> str | None:
    """``template`` with each ``{field}`` replaced by the record's value (nothing when
    the record has no such field, or it is null)."""
    if template is None or "{" not in template and "}" not in template:
        return template
    parts = []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            value = data.get(field)
            parts.append("" if value is None else str(value))
    return "".join(parts)
