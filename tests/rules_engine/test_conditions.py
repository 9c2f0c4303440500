"""CEL `when` conditions."""

from __future__ import annotations

import pytest

from rules_engine.conditions import Condition, ConditionError, condition_problem


@pytest.mark.parametrize(
    "source",
    [
        "record.age >= 18",
        "has(record.amount) && record.amount > 1000",
        "context.environment == 'production'",
        "record.tags.exists(t, t == 'vip')",
        "size(record.name) > 0 && record.name.startsWith('A')",
        "timestamp(context.now) > timestamp('2020-01-01T00:00:00Z')",
    ],
)
def test_condition_problem__valid_cel__is_none(source):
    # Given a valid CEL condition over record and context
    # When it is compiled or evaluated
    # Then validation finds nothing to report
    assert condition_problem(source) is None


@pytest.mark.parametrize(
    "source, expected",
    [
        ("record.age >=", "not a valid CEL expression: the expression ends too early at character 14"),
        ("'abc", "unexpected character (is a quote left open?)"),
        ("a b", "not a valid CEL expression: extraneous input 'b' at character 3"),
        ("lower(record.x) == 'a'", "it uses 'lower', which CEL conditions do not provide"),
        (
            "recod.x == 1",
            "it refers to 'recod', which is not defined; a condition can use record and context",
        ),
    ],
)
def test_condition_problem__bad_cel__explains_plainly(source, expected):
    # Given a broken, unknown-function or misspelt-variable condition
    # When it is compiled or evaluated
    # Then the problem is a plain sentence saying what is wrong
    problem = condition_problem(source)
    assert problem.startswith("This condition cannot be used: ")
    assert expected in problem


def test_condition__evaluate__is_true_or_false():
    # Given a compiled condition evaluated on records
    # When it is compiled or evaluated
    # Then it gives True or False
    condition = Condition("record.age >= 18")
    assert condition.evaluate({"age": 20}, {}) is True
    assert condition.evaluate({"age": 17.5}, {}) is False
    assert condition.source == "record.age >= 18"


@pytest.mark.parametrize(
    "source, record, expected",
    [
        ("record.age >= 18", {}, "the record or context has no field 'age'"),
        ("record.age >= 18", {"age": "old"}, "No such overload"),
        ("1 + 1", {}, "it gave 2 instead of true or false"),
        ("record.age > 1", {"age": {1, 2}}, "Conversion Error"),
    ],
)
def test_condition__cannot_evaluate__raises_condition_error(source, record, expected):
    # Given a condition that cannot be evaluated for a record
    # When it is compiled or evaluated
    # Then ConditionError explains why
    with pytest.raises(ConditionError, match=expected):
        Condition(source).evaluate(record, {})


def test_condition__invalid_source__raises_at_construction():
    # Given an invalid expression
    # When it is compiled or evaluated
    # Then building the Condition fails at once, not per record
    with pytest.raises(ConditionError, match="ends too early"):
        Condition("record.x ==")
