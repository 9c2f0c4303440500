"""Editing one part of a pipeline document: pure functions returning a changed copy."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.configs.editing import (
    DocumentEditError,
    add_rule,
    merge_changes,
    move_rule,
    remove_rule,
    rule_ids,
    set_rule_params,
    set_rule_settings,
    set_stage_settings,
)
from pipelines_admin.demo.pipelines import example_document

# ------------------------------------------------------------------ strategies

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def documents(draw):
    """A pipeline-shaped document: stages of rules with params, ids unique across stages."""
    stage_names = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    all_ids = draw(st.lists(ids, min_size=0, max_size=10, unique=True))
    stages = {}
    for index, name in enumerate(stage_names):
        mine = all_ids[index :: len(stage_names)]
        rules = {
            rid: {
                "class": draw(st.sampled_from(["A", "B"])),
                "params": draw(st.dictionaries(ids, json_values, max_size=3)),
            }
            for rid in mine
        }
        stages[name] = {"enabled": draw(st.booleans()), "rules": rules}
    return {"version": "1", "stages": stages}


def a_rule_of(document, data):
    pairs = [(stage, rid) for rid, stage in rule_ids(document).items()]
    if not pairs:
        return None
    return data.draw(st.sampled_from(pairs))


# ------------------------------------------------------------------ properties


@given(document=documents(), data=st.data())
def test_add_rule__then_remove__gives_the_original(document, data):
    # Given any document and a new rule id
    stage = data.draw(st.sampled_from(list(document["stages"])))
    new_id = data.draw(ids.filter(lambda i: i not in rule_ids(document)))
    position = data.draw(st.none() | st.integers(-2, 12))
    original = copy.deepcopy(document)
    # When a rule is added and removed again
    added = add_rule(document, stage, new_id, {"class": "A", "params": {"x": 1}}, position)
    back = remove_rule(added, stage, new_id)
    # Then the result is the original, order included, and the input was never changed
    assert back == original and list(back["stages"][stage]["rules"]) == list(
        original["stages"][stage]["rules"]
    )
    assert document == original and new_id in added["stages"][stage]["rules"]


@given(document=documents(), data=st.data())
def test_move_rule__any_offset__same_rules_other_order_input_untouched(document, data):
    # Given any rule of any document
    picked = a_rule_of(document, data)
    if picked is None:
        return
    stage, rid = picked
    offset = data.draw(st.integers(-5, 5))
    original = copy.deepcopy(document)
    # When it moves
    moved = move_rule(document, stage, rid, offset)
    # Then the stage holds the same rules (same contents), and only the order may differ
    before, after = original["stages"][stage]["rules"], moved["stages"][stage]["rules"]
    assert before == after and sorted(before) == sorted(after)
    order = list(before)
    expected = max(0, min(order.index(rid) + offset, len(order) - 1))
    assert list(after).index(rid) == expected
    assert document == original


@given(document=documents(), data=st.data())
def test_move_rule__down_then_up__original_order(document, data):
    picked = a_rule_of(document, data)
    if picked is None:
        return
    stage, rid = picked
    order = list(document["stages"][stage]["rules"])
    if order.index(rid) == len(order) - 1:
        return
    # When a rule that is not last moves down and back up
    back = move_rule(move_rule(document, stage, rid, 1), stage, rid, -1)
    # Then the order is the original
    assert list(back["stages"][stage]["rules"]) == order


@given(document=documents(), data=st.data())
def test_set_rule_params__any_params__only_that_rule_changes(document, data):
    picked = a_rule_of(document, data)
    if picked is None:
        return
    stage, rid = picked
    params = data.draw(st.dictionaries(ids, json_values, max_size=3))
    original = copy.deepcopy(document)
    # When the params of one rule are set
    changed = set_rule_params(document, stage, rid, params)
    # Then that rule has them and everything else is as it was
    assert changed["stages"][stage]["rules"][rid]["params"] == params
    changed["stages"][stage]["rules"][rid]["params"] = original["stages"][stage]["rules"][rid]["params"]
    assert changed == original and document == original


@given(base=st.dictionaries(ids, json_values, max_size=4), mine=st.dictionaries(ids, json_values, max_size=4))
def test_merge_changes__other_side_unchanged__takes_mine(base, mine):
    # Given only one side changed anything: the merge is that side
    assert merge_changes(base, mine, base) == mine
    assert merge_changes(base, base, mine) == mine


@given(
    base=st.dictionaries(ids, json_values, max_size=4),
    mine=st.dictionaries(ids, json_values, max_size=4),
    theirs=st.dictionaries(ids, json_values, max_size=4),
)
@settings(max_examples=200)
def test_merge_changes__both_changed__every_key_from_a_side_that_changed_it(base, mine, theirs):
    merged = merge_changes(base, mine, theirs)
    for key in set(base) | set(mine) | set(theirs):
        absent = object()
        m, t, b, got = (d.get(key, absent) for d in (mine, theirs, base, merged))
        if m == b:
            assert got == t or (t is absent and got is absent)
        elif t == b:
            assert got == m or (m is absent and got is absent)


# ------------------------------------------------------------------ examples


def onboarding():
    return example_document("customer_onboarding.json")


def test_set_rule_settings__missing_settings_removed_others_kept_in_place():
    # Given a rule with dependencies
    document = onboarding()
    rule = document["stages"]["compliance"]["rules"]["pep_screening"]
    assert list(rule) == ["class", "params", "cross_stage_dependencies", "dependencies"]
    # When its settings become a timeout and retries only
    changed = set_rule_settings(
        document, "compliance", "pep_screening", {"timeout_seconds": 3, "retry": {"max_attempts": 2}}
    )
    # Then class and params stay first, dependencies are gone, the new settings follow
    new = changed["stages"]["compliance"]["rules"]["pep_screening"]
    assert list(new) == ["class", "params", "timeout_seconds", "retry"] and new["params"] == rule["params"]
    assert "dependencies" in rule  # the input is unchanged


def test_set_rule_settings__unknown_setting__refused():
    with pytest.raises(DocumentEditError, match="dependancies"):
        set_rule_settings(onboarding(), "compliance", "pep_screening", {"dependancies": []})


def test_set_stage_settings__changed_value__stays_in_its_place_and_rules_untouched():
    # Given the data quality stage
    document = onboarding()
    # When fail_fast is switched off and a condition added
    changed = set_stage_settings(
        document,
        "data_quality",
        {
            "enabled": True,
            "fail_fast": False,
            "parallel_execution": False,
            "timeout_seconds": 10,
            "when": "record.country == 'US'",
        },
    )
    # Then the keys keep their order, the new one comes last, and the rules are the same
    stage = changed["stages"]["data_quality"]
    assert list(stage) == ["enabled", "fail_fast", "parallel_execution", "timeout_seconds", "rules", "when"]
    assert stage["fail_fast"] is False and stage["rules"] == document["stages"]["data_quality"]["rules"]


def test_add_rule__id_used_in_another_stage__refused():
    with pytest.raises(DocumentEditError, match="already a rule 'pep_screening'"):
        add_rule(onboarding(), "business_rules", "pep_screening", {"class": "AgeVerificationRule"})


def test_add_rule__position__inserted_there():
    changed = add_rule(onboarding(), "business_rules", "second", {"class": "AgeVerificationRule"}, position=1)
    assert list(changed["stages"]["business_rules"]["rules"])[:3] == [
        "age_verification",
        "second",
        "credit_score_check",
    ]


def test_remove_rule__unknown_rule__refused():
    with pytest.raises(DocumentEditError, match="no rule 'nope'"):
        remove_rule(onboarding(), "compliance", "nope")


def test_set_rule_params__unknown_stage__refused():
    with pytest.raises(DocumentEditError, match="no stage 'nope'"):
        set_rule_params(onboarding(), "nope", "pep_screening", {})


def test_merge_changes__same_key_changed_on_both_sides__mine_wins_nested_merged():
    base = {"params": {"a": 1, "b": 1}, "timeout_seconds": 5}
    mine = {"params": {"a": 2, "b": 1}, "timeout_seconds": 6}
    theirs = {"params": {"a": 1, "b": 3}, "timeout_seconds": 7, "when": "true"}
    assert merge_changes(base, mine, theirs) == {
        "params": {"a": 2, "b": 3},
        "timeout_seconds": 6,
        "when": "true",
    }
