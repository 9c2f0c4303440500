"""Two results of the same application side by side, rule by rule."""

from __future__ import annotations


def _rules(result: dict | None) -> dict[str, tuple[str, dict]]:
    return {r["id"]: (s["name"], r) for s in (result or {}).get("stages", []) for r in s.get("rules", [])}


def compare_results(a: dict | None, b: dict | None) -> list[dict]:
    """One row per rule (in A's order, then rules only B has): stage, id, both outcomes
    and messages, and whether the outcome differs."""
    rules_a, rules_b = _rules(a), _rules(b)
    rows = []
    for rule_id in list(rules_a) + [r for r in rules_b if r not in rules_a]:
        stage_a, rule_a = rules_a.get(rule_id, (None, None))
        stage_b, rule_b = rules_b.get(rule_id, (None, None))
        outcome_a = rule_a["outcome"] if rule_a else None
        outcome_b = rule_b["outcome"] if rule_b else None
        rows.append(
            {
                "stage": stage_a or stage_b,
                "rule": rule_id,
                "a": rule_a,
                "b": rule_b,
                "changed": outcome_a != outcome_b,
            }
        )
    return rows
