import copy

from pipelines_admin.configs.diffs import semantic_diff, text_diff

BASE = {
    "version": "1",
    "stages": {
        "dq": {
            "enabled": True,
            "fail_fast": True,
            "rules": {
                "required": {"class": "RequiredFieldsRule", "params": {"required_fields": ["a", "b"]}},
                "email": {
                    "class": "EmailFormatRule",
                    "params": {"field_name": "email"},
                    "dependencies": ["required"],
                },
            },
        },
        "biz": {
            "rules": {
                "credit": {
                    "class": "CreditScoreRule",
                    "params": {"minimum_score": 650},
                    "cross_stage_dependencies": ["required"],
                }
            }
        },
    },
    "execution_settings": {"stop_on_stage_failure": True},
}


def kinds(changes):
    return sorted(c["kind"] for c in changes)


def test_semantic_diff__same_document__no_changes():
    assert semantic_diff(BASE, copy.deepcopy(BASE)) == []


def test_semantic_diff__threshold_changed__one_param_change_with_values():
    # Given the credit threshold raised
    after = copy.deepcopy(BASE)
    after["stages"]["biz"]["rules"]["credit"]["params"]["minimum_score"] = 700
    # When diffed / Then one param change says which rule, which param, from and to
    (change,) = semantic_diff(BASE, after)
    assert change["kind"] == "param_changed"
    assert (change["rule"], change["param"], change["before"], change["after"]) == (
        "credit",
        "minimum_score",
        650,
        700,
    )
    assert change["summary"] == "Rule credit: minimum_score 650 → 700."


def test_semantic_diff__structure_changed__each_kind_reported():
    # Given a rule added, one removed, a dependency added, a stage setting and an execution setting changed
    after = copy.deepcopy(BASE)
    after["stages"]["dq"]["rules"]["phone"] = {"class": "PhoneFormatRule", "params": {"field_name": "phone"}}
    del after["stages"]["dq"]["rules"]["email"]
    after["stages"]["biz"]["rules"]["credit"]["cross_stage_dependencies"].append("phone")
    after["stages"]["dq"]["fail_fast"] = False
    after["stages"]["biz"]["rules"]["credit"]["severity"] = "warning"
    after["execution_settings"]["stop_on_stage_failure"] = False
    # When diffed
    changes = semantic_diff(BASE, after)
    # Then every change is named
    assert kinds(changes) == sorted(
        [
            "rule_added",
            "rule_removed",
            "dependencies_changed",
            "stage_setting_changed",
            "rule_setting_changed",
            "execution_setting_changed",
        ]
    )
    dep = next(c for c in changes if c["kind"] == "dependencies_changed")
    assert dep["added"] == ["phone"] and dep["removed"] == []


def test_semantic_diff__rule_moved_and_stages_reordered__reported():
    # Given the credit rule moved to dq and the stages swapped
    after = {
        "stages": {"biz": {"rules": {}}, "dq": copy.deepcopy(BASE["stages"]["dq"])},
        "version": "1",
        "execution_settings": {"stop_on_stage_failure": True},
    }
    after["stages"]["dq"]["rules"]["credit"] = copy.deepcopy(BASE["stages"]["biz"]["rules"]["credit"])
    # When diffed / Then the move and the reorder are reported
    assert kinds(semantic_diff(BASE, after)) == ["rule_moved", "stage_order_changed"]


def test_text_diff__param_changed__unified_diff_lines():
    after = copy.deepcopy(BASE)
    after["stages"]["biz"]["rules"]["credit"]["params"]["minimum_score"] = 700
    text = text_diff(BASE, after, "v1", "v2")
    assert text.startswith("--- v1\n+++ v2\n")
    assert '-            "minimum_score": 650' in text and '+            "minimum_score": 700' in text


def test_semantic_diff__setting_added_and_removed__worded_as_set_and_removed():
    # Given a rule that gains a timeout and a stage that loses its fail_fast
    after = copy.deepcopy(BASE)
    after["stages"]["biz"]["rules"]["credit"]["timeout_seconds"] = 5
    del after["stages"]["dq"]["fail_fast"]
    # When diffed / Then the summaries say "set to" and "removed (was ...)", not null
    summaries = sorted(c["summary"] for c in semantic_diff(BASE, after))
    assert summaries == ["Rule credit: timeout_seconds set to 5.", "Stage dq: fail_fast removed (was true)."]
