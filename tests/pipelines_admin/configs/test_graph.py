"""The pipeline's pictures as data: graph layout, environment matrix, annotated config lines."""

import copy

from pipelines_admin.configs.graph import (
    CROSS_STAGE,
    DEPENDENCY,
    annotated_lines,
    pipeline_graph,
    toggle_matrix,
)
from pipelines_admin.configs.overrides import apply_override, provenance
from pipelines_admin.demo.pipelines import example_document


def declared_dependencies(document):
    """(dependency, rule) for every entry of every rule's dependency lists."""
    pairs = set()
    for stage in document["stages"].values():
        for rule_id, rule in stage["rules"].items():
            for key in ("dependencies", "cross_stage_dependencies"):
                pairs.update((dep, rule_id) for dep in rule.get(key, []))
    return pairs


def test_pipeline_graph__example_config__lanes_in_document_order():
    # Given the customer onboarding example
    document = example_document("customer_onboarding.json")
    # When it is laid out
    graph = pipeline_graph(document)
    # Then there is one lane per stage, in document order, left to right, all the same height
    assert [lane.stage for lane in graph.lanes] == list(document["stages"])
    xs = [lane.x for lane in graph.lanes]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert len({lane.height for lane in graph.lanes}) == 1
    # and every rule is a node inside its stage's lane
    assert {(n.stage, n.rule) for n in graph.nodes} == {
        (s, r) for s, stage in document["stages"].items() for r in stage["rules"]
    }
    for node in graph.nodes:
        lane = graph.lanes[node.lane]
        assert lane.stage == node.stage
        assert lane.x <= node.x and node.x + node.width <= lane.x + lane.width
        assert lane.y <= node.y and node.y + node.height <= lane.y + lane.height
    assert graph.width >= graph.lanes[-1].x + graph.lanes[-1].width


def test_pipeline_graph__both_example_configs__every_dependency_is_an_edge():
    for filename in ("customer_onboarding.json", "pipeline_config.json"):
        # Given an example config
        document = example_document(filename)
        # When it is laid out
        graph = pipeline_graph(document)
        # Then each declared dependency is exactly one edge, and none dangles
        assert {(e.source, e.target) for e in graph.edges} == declared_dependencies(document), filename
        assert len(graph.edges) == len(declared_dependencies(document))
        assert graph.dangling == []


def test_pipeline_graph__cross_stage_dependency__edge_marked_and_drawn_between_lanes(small_pipeline_document):
    # Given age_verification (business_rules) depending on required_fields (data_quality)
    graph = pipeline_graph(small_pipeline_document)
    # When its edges are read
    cross = [e for e in graph.edges if e.kind == CROSS_STAGE]
    same = [e for e in graph.edges if e.kind == DEPENDENCY]
    # Then the cross-stage one is marked with both stages, and starts right of its source
    assert [(e.source, e.target, e.source_stage, e.target_stage) for e in cross] == [
        ("required_fields", "age_verification", "data_quality", "business_rules")
    ]
    assert cross[0].is_cross_stage and "data_quality → business_rules" in cross[0].title
    source = graph.node("required_fields")
    assert cross[0].path.startswith(f"M{source.x + source.width} ")
    # and the same-stage one stays a plain dependency
    assert [(e.source, e.target) for e in same] == [("required_fields", "email_format")]
    assert graph.has_cross_stage


def test_pipeline_graph__same_stage_rule_listed_as_cross_stage__drawn_as_same_stage_dependency():
    # Given the basic example, where pep_screening lists kyc_validation (same stage) under
    # cross_stage_dependencies, which the engine treats as a same-stage dependency
    graph = pipeline_graph(example_document("pipeline_config.json"))
    # When the edge is found / Then it is a same-stage dependency
    edge = next(e for e in graph.edges if (e.source, e.target) == ("kyc_validation", "pep_screening"))
    assert edge.kind == DEPENDENCY and edge.source_stage == edge.target_stage == "compliance"


def test_pipeline_graph__chain_within_stage__rules_stacked_in_dependency_order():
    # Given data_quality of the onboarding example: a rule, two that need it, one that needs both
    graph = pipeline_graph(example_document("customer_onboarding.json"))
    nodes = {n.rule: n for n in graph.nodes if n.stage == "data_quality"}
    # Then each rule sits below the rules it depends on, its level one deeper
    assert nodes["required_personal_info"].level == 0
    assert nodes["email_format_validation"].level == nodes["phone_format_validation"].level == 1
    assert nodes["data_consistency_check"].level == 2
    assert (
        nodes["required_personal_info"].y
        < nodes["email_format_validation"].y
        < nodes["data_consistency_check"].y
    )
    for edge in graph.edges:
        if edge.kind == DEPENDENCY:
            assert graph.node(edge.source).y < graph.node(edge.target).y


def test_pipeline_graph__disabled_stage_and_rule__greyed(small_pipeline_document):
    # Given a disabled rule in one stage and a disabled stage
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["data_quality"]["rules"]["email_format"]["enabled"] = False
    document["stages"]["business_rules"]["enabled"] = False
    # When laid out
    graph = pipeline_graph(document)
    # Then the rule is off, the other stage's rules are inactive, and edges to them too
    assert not graph.node("email_format").enabled and not graph.node("email_format").active
    assert graph.node("email_format").tags == "off"
    assert not graph.lanes[1].enabled and not graph.node("age_verification").active
    assert graph.node("age_verification").enabled and not graph.node("age_verification").stage_enabled
    assert all(not e.active for e in graph.edges)
    assert graph.node("required_fields").active


def test_pipeline_graph__unknown_dependency_and_cycle__reported_not_crashing():
    # Given an invalid document: a dependency on nothing, and two rules depending on each other
    document = {
        "stages": {
            "s": {
                "rules": {
                    "a": {"class": "X", "dependencies": ["b", "ghost"]},
                    "b": {"class": "X", "dependencies": ["a"]},
                }
            }
        }
    }
    # When laid out
    graph = pipeline_graph(document)
    # Then the unknown one is listed as dangling and both edges of the cycle are drawn
    assert [(d.rule, d.dependency) for d in graph.dangling] == [("a", "ghost")]
    assert {(e.source, e.target) for e in graph.edges} == {("b", "a"), ("a", "b")}


def test_pipeline_graph__empty_or_odd_documents__empty_graph():
    # Given documents without usable stages / When laid out / Then there is nothing to draw
    for document in ({}, {"stages": {}}, {"stages": []}, None):
        graph = pipeline_graph(document)
        assert graph.is_empty and graph.nodes == [] and graph.edges == []
    # and a stage without rules is a lane of its own
    graph = pipeline_graph({"stages": {"empty": {"rules": {}}}})
    assert [lane.rule_count for lane in graph.lanes] == [0]


def test_pipeline_graph__long_rule_id__label_shortened_full_id_kept():
    # Given a very long rule id
    rule = "a_rule_with_a_name_far_too_long_for_its_box"
    graph = pipeline_graph({"stages": {"s": {"rules": {rule: {"class": "X"}}}}})
    # Then the label is shortened with an ellipsis and the node keeps the full id
    node = graph.node(rule)
    assert node.label.endswith("…") and len(node.label) < len(rule) and node.rule == rule


def test_toggle_matrix__environments_with_other_versions__union_of_rows_and_absent_cells(
    small_pipeline_document,
):
    # Given the latest version, an environment running it with the stage business_rules off,
    # one running an older version without email_format, and one where nothing is released
    latest = small_pipeline_document
    toggled = apply_override(latest, {"stages": {"business_rules": {"enabled": False}}})
    older = copy.deepcopy(latest)
    del older["stages"]["data_quality"]["rules"]["email_format"]
    older["stages"]["legacy"] = {"rules": {"old_rule": {"class": "X"}}}
    # When the matrix is built
    rows = toggle_matrix(latest, [("dev", toggled), ("stage", older), ("prod", None)])
    # Then rows follow the latest version, stage rows first, extra stages after
    assert [(r.stage, r.rule) for r in rows] == [
        ("data_quality", None),
        ("data_quality", "required_fields"),
        ("data_quality", "email_format"),
        ("business_rules", None),
        ("business_rules", "age_verification"),
        ("legacy", None),
        ("legacy", "old_rule"),
    ]
    by_row = {(r.stage, r.rule): r.cells for r in rows}
    # and the cells say what runs where
    dev, stage, prod = by_row[("business_rules", None)]
    assert (dev.column, dev.present, dev.enabled) == ("dev", True, False)
    assert stage.present and stage.enabled and not prod.present
    dev_rule = by_row[("business_rules", "age_verification")][0]
    assert dev_rule.enabled and not dev_rule.stage_enabled and not dev_rule.runs
    assert not by_row[("data_quality", "email_format")][1].present
    assert by_row[("legacy", "old_rule")][1].runs and not by_row[("legacy", "old_rule")][0].present


def test_annotated_lines__override__leaves_marked_with_their_origin(small_pipeline_document):
    # Given an override that turns a stage off, changes a param and removes another value
    base = small_pipeline_document
    override = {
        "stages": {
            "business_rules": {
                "enabled": False,
                "rules": {"age_verification": {"params": {"minimum_age": 21, "date_field": None}}},
            }
        }
    }
    effective = apply_override(base, override)
    # When the effective config is turned into lines
    lines = annotated_lines(effective, provenance(base, override))
    by_pointer = {line.pointer: line for line in lines if line.origin}
    # Then overridden leaves say so, the removed key has a line, the rest come from the version
    assert by_pointer["/stages/business_rules/enabled"].origin == "override"
    assert (
        by_pointer["/stages/business_rules/rules/age_verification/params/minimum_age"].text
        == '"minimum_age": 21,'
    )
    assert by_pointer["/stages/business_rules/rules/age_verification/params/minimum_age"].origin == "override"
    assert by_pointer["/stages/business_rules/rules/age_verification/params/minimum_age"].value == "21"
    removed = by_pointer["/stages/business_rules/rules/age_verification/params/date_field"]
    assert removed.origin == "removed" and "removed by the override" in removed.text
    assert by_pointer["/stages/data_quality/enabled"].origin == "base"
    # and the lines are the pretty-printed document (brackets balanced, indentation by depth)
    assert lines[0].text == "{" and lines[-1].text == "}"
    assert by_pointer["/version"].indent == "  "
