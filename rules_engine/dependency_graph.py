"""Dependency graphs of rules: execution order and cycles.

Nodes are rule ids; ``depends_on[a]`` lists what ``a`` needs first. Both functions are
deterministic: ties are broken by the order the nodes were given (document order).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def topological_order(nodes: Sequence[N], depends_on: Mapping[N, Iterable[N]]) -> list[N]:
    """``nodes`` ordered so each comes after everything it depends on; among the rules
    ready at the same time, the one earlier in ``nodes`` goes first. Dependencies on
    nodes outside ``nodes`` are ignored. Raises ValueError on a cycle."""
    position = {node: i for i, node in enumerate(nodes)}
    waiting_on = [0] * len(nodes)
    dependents: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        for dep in set(depends_on.get(node, ())):
            j = position.get(dep)
            if j is not None:
                waiting_on[i] += 1
                dependents[j].append(i)
    ready = [i for i, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    order: list[N] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for j in dependents[i]:
            waiting_on[j] -= 1
            if waiting_on[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(nodes):
        raise ValueError("the dependencies form a cycle")
    return order


def find_cycles(nodes: Sequence[N], depends_on: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """One cycle per group of mutually dependent nodes, as ``[a, b, ..., a]`` (a needs b,
    ..., the last needs a), starting at the group's earliest node. Self-dependencies
    (``a`` needing ``a``) are not reported here."""
    position = {node: i for i, node in enumerate(nodes)}
    edges = [
        [position[d] for d in dict.fromkeys(depends_on.get(n, ())) if d in position and d != n] for n in nodes
    ]
    cycles = []
    for component in _strongly_connected(edges):
        if len(component) < 2:
            continue
        members = set(component)
        start = min(component)
        path = _path_back_to(start, edges, members)
        cycles.append([nodes[i] for i in path])
    cycles.sort(key=lambda cycle: position[cycle[0]])
    return cycles


def _path_back_to(start: int, edges: list[list[int]], members: set[int]) -> list[int]:
    """The shortest walk start -> ... -> start inside ``members`` (breadth first)."""
    came_from: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in edges[node]:
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while (previous := came_from[path[-1]]) is not None:
                    path.append(previous)
                return list(reversed(path)) + [start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError("a strongly connected component always has a cycle")


def _strongly_connected(edges: list[list[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative (deep chains must not hit the recursion limit)."""
    index_of: list[int | None] = [None] * len(edges)
    low = [0] * len(edges)
    on_stack = [False] * len(edges)
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(edges)):
        if index_of[root] is not None:
            continue
        work = [(root, 0)]
        while work:
            node, edge_i = work.pop()
            if edge_i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            recurse = False
            for k in range(edge_i, len(edges[node])):
                nxt = edges[node][k]
                nxt_index = index_of[nxt]
                if nxt_index is None:
                    work.append((node, k + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if on_stack[nxt]:
                    low[node] = min(low[node], nxt_index)
            if recurse:
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components
