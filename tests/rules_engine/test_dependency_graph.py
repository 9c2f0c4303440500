"""Execution order and cycles."""

from __future__ import annotations

import pytest

from rules_engine.dependency_graph import find_cycles, topological_order


def test_topological_order__ties__keep_document_order():
    # Given c needs a, and b and d need nothing
    order = topological_order(["c", "b", "a", "d"], {"c": ["a"]})
    # Then b, a, d keep their places and c waits for a
    assert order == ["b", "a", "c", "d"]


def test_topological_order__ignores_outside_nodes_and_repeats():
    # Given a dependency listed twice and one outside the nodes
    # When the graph is ordered or searched
    # Then only the real one orders the result
    assert topological_order(["a", "b"], {"a": ["b", "b", "elsewhere"]}) == ["b", "a"]


def test_topological_order__cycle__raises():
    # Given two nodes needing each other
    # When the graph is ordered or searched
    # Then ordering raises ValueError
    with pytest.raises(ValueError, match="cycle"):
        topological_order(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_find_cycles__names_each_cycle_from_its_first_node():
    # Given two independent cycles
    # When the graph is ordered or searched
    # Then each is named once, from its earliest node, in document order
    cycles = find_cycles(
        ["x", "a", "b", "c", "y"], {"a": ["b"], "b": ["c"], "c": ["a"], "x": ["y"], "y": ["x"]}
    )
    assert cycles == [["x", "y", "x"], ["a", "b", "c", "a"]]


def test_find_cycles__self_loops_and_acyclic__give_nothing():
    # Given a self-dependency and an acyclic edge
    # When the graph is ordered or searched
    # Then no cycle is reported (self-dependencies are reported elsewhere)
    assert find_cycles(["a", "b"], {"a": ["a"], "b": ["a"]}) == []


def test_find_cycles__long_chain__does_not_hit_the_recursion_limit():
    # Given a cycle of 5000 rules
    # When the graph is ordered or searched
    # Then it is found without recursion errors
    nodes = [f"r{i}" for i in range(5000)]
    deps = {nodes[i]: [nodes[(i + 1) % len(nodes)]] for i in range(len(nodes))}
    (cycle,) = find_cycles(nodes, deps)
    assert len(cycle) == 5001 and cycle[0] == cycle[-1] == "r0"
