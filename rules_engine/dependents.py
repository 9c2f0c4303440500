"""Which rules of a pipeline config depend on which, read from the document itself.

A rule depends on the rules it names under ``dependencies`` (its own stage) and
``cross_stage_dependencies`` (earlier stages; a name of its own stage counts too, as
the seed configs write it). A rule is *enabled* when it and its stage are.

- :func:`rule_dependencies`: every rule and the rules it names, as they exist.
- :func:`enabled_dependents`: the enabled rules that need some given rules, directly or
  through other rules: what turning those rules off would leave unable to run.
- :func:`disabled_dependencies`: enabled rules that name a disabled rule, each with
  where the naming entry is (validation reports these).

The functions accept any document and ignore what is not shaped like a config, so the
console can ask them about a config that is still invalid.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

DEPENDENCY_KEYS = ("dependencies", "cross_stage_dependencies")


class RuleRef(NamedTuple):
    """A rule by its stage and id."""

    stage: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "rule": self.rule}


class DisabledDependency(NamedTuple):
    """An enabled rule naming a disabled one: where (the keys and index of the naming
    entry) and who."""

    parts: tuple[Any, ...]
    rule: RuleRef
    dependency: RuleRef
    #: the dependency's stage is disabled (rather than the dependency itself)
    stage_disabled: bool


def _enabled(item: Any) -> bool:
    return not isinstance(item, dict) or item.get("enabled", True) is not False


def iter_rules(config: Any) -> Iterator[tuple[str, Any, str, Any]]:
    """(stage name, stage, rule id, rule) for every rule, in document order."""
    stages = config.get("stages") if isinstance(config, dict) else None
    if not isinstance(stages, dict):
        return
    for stage_name, stage in stages.items():
        rules = stage.get("rules") if isinstance(stage, dict) else None
        if isinstance(rules, dict):
            for rule_id, rule in rules.items():
                yield stage_name, stage, rule_id, rule


def _named(rule: Any) -> Iterator[tuple[str, int, str]]:
    """(key, position, rule id) for each dependency entry ``rule`` writes."""
    if not isinstance(rule, dict):
        return
    for key in DEPENDENCY_KEYS:
        deps = rule.get(key)
        if isinstance(deps, list):
            for position, dep in enumerate(deps):
                if isinstance(dep, str):
                    yield key, position, dep


def rule_dependencies(config: Any) -> dict[str, tuple[str, ...]]:
    """Rule id -> the ids of the rules it depends on that exist in ``config``, in the
    order written (``cross_stage_dependencies`` after ``dependencies``)."""
    known = {rule_id for _, _, rule_id, _ in iter_rules(config)}
    return {
        rule_id: tuple(dict.fromkeys(dep for _, _, dep in _named(rule) if dep in known and dep != rule_id))
        for _, _, rule_id, rule in iter_rules(config)
    }


def rule_refs(config: Any) -> dict[str, RuleRef]:
    """Rule id -> its RuleRef (the first occurrence of an id used twice)."""
    refs: dict[str, RuleRef] = {}
    for stage_name, _, rule_id, _ in iter_rules(config):
        refs.setdefault(rule_id, RuleRef(stage_name, rule_id))
    return refs


def enabled_rule_ids(config: Any) -> set[str]:
    """The ids of the rules that are enabled and whose stage is enabled."""
    return {rule_id for _, stage, rule_id, rule in iter_rules(config) if _enabled(stage) and _enabled(rule)}


def stage_rule_ids(config: Any, stage_name: str) -> list[str]:
    """The rule ids of one stage, in document order ([] for an unknown stage)."""
    return [rule_id for name, _, rule_id, _ in iter_rules(config) if name == stage_name]


def enabled_dependents(config: Any, rule_ids: Iterable[str]) -> list[RuleRef]:
    """The enabled rules that depend on any of ``rule_ids``, directly or through other
    rules, in document order; ``rule_ids`` themselves are not listed."""
    targets = set(rule_ids)
    needed_by: dict[str, list[str]] = {}
    for rule_id, deps in rule_dependencies(config).items():
        for dep in deps:
            needed_by.setdefault(dep, []).append(rule_id)
    enabled = enabled_rule_ids(config)
    found: set[str] = set()
    queue = deque(targets)
    while queue:
        for dependent in needed_by.get(queue.popleft(), ()):
            if dependent not in found and dependent not in targets and dependent in enabled:
                found.add(dependent)
                queue.append(dependent)
    return [ref for rule_id, ref in rule_refs(config).items() if rule_id in found]


def disabled_dependencies(config: Any) -> list[DisabledDependency]:
    """Every enabled rule's dependency entry that names a rule which is disabled, or
    whose stage is: such a rule could never run, so no application could pass."""
    stage_of: dict[str, tuple[str, bool, bool]] = {}
    for stage_name, stage, rule_id, rule in iter_rules(config):
        stage_of.setdefault(rule_id, (stage_name, _enabled(stage), _enabled(rule)))
    found = []
    for stage_name, stage, rule_id, rule in iter_rules(config):
        if not (_enabled(stage) and _enabled(rule)):
            continue
        for key, position, dep in _named(rule):
            home = stage_of.get(dep)
            if home is None or dep == rule_id:
                continue
            dep_stage, dep_stage_enabled, dep_enabled = home
            if dep_stage_enabled and dep_enabled:
                continue
            found.append(
                DisabledDependency(
                    ("stages", stage_name, "rules", rule_id, key, position),
                    RuleRef(stage_name, rule_id),
                    RuleRef(dep_stage, dep),
                    stage_disabled=not dep_stage_enabled,
                )
            )
    return found
