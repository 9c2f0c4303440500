"""The checks of a config that is plain data: the document schema, each rule's params,
and what the config means (classes, services, dependencies, conditions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from rules_engine.conditions import condition_problem
from rules_engine.decision import message_fields
from rules_engine.dependency_graph import find_cycles
from rules_engine.dependents import disabled_dependencies
from rules_engine.masking import DEFAULT_PII_FIELDS
from rules_engine.pointers import json_pointer as pointer
from rules_engine.schema import pipeline_schema
from rules_engine.validation.messages import Problem, _closest, _kind, _sort_key, schema_problems
from rules_engine.validation.plain_data import plain_data_problems

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.rule import Rule
    from rules_engine.services.registry import ServiceRef, ServiceRegistry

# ------------------------------------------------------------------------ registries


def default_rules() -> dict[str, type[Rule]]:
    from rules_engine.rules import default_rule_registry

    return default_rule_registry()


class _DefaultServices:
    """The built-in simulated adapters, built on first use (a pipeline whose rules call
    no service never needs them)."""

    def __init__(self) -> None:
        self._registry: ServiceRegistry | None = None

    def _get(self) -> ServiceRegistry:
        if self._registry is None:
            from rules_engine.services import default_registry

            self._registry = default_registry()
        return self._registry

    def is_bound(self, ref: ServiceRef) -> bool:
        return self._get().is_bound(ref)

    def interfaces(self) -> set[str]:
        return self._get().interfaces()

    def resolve(self, ref: ServiceRef) -> Any:
        return self._get().resolve(ref)


def default_services() -> _DefaultServices:
    return _DefaultServices()


@lru_cache(maxsize=1)
def _document_validator() -> Draft202012Validator:
    return Draft202012Validator(pipeline_schema())


@lru_cache(maxsize=512)
def _params_validator(rule_class: type) -> Draft202012Validator | SchemaError:
    schema = getattr(rule_class, "params_schema", None) or {"type": "object"}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return error
    return Draft202012Validator(schema)


# ------------------------------------------------------------------------ the checks


def validate_config(
    config: Any,
    *,
    rules: Mapping[str, type[Rule]] | None = None,
    services: Any = None,
    pii_fields: Iterable[str] | None = None,
) -> list[Problem]:
    """Every problem with ``config``, sorted by path; an empty list means it compiles.

    ``rules``: rule classes by name (default: the built-in library);
    ``services``: a ServiceRegistry (default: the simulated adapters);
    ``pii_fields``: the fields marked PII besides the config's own ``pii_fields``
    (default: the standard set), which no customer message may quote."""
    if not isinstance(config, dict):
        return [
            Problem("", f"The config must be an object with a 'stages' entry, but it is {_kind(config)}.")
        ]
    problems = plain_data_problems(config)
    if problems:
        return sorted(set(problems), key=_sort_key)
    problems = schema_problems(config, _document_validator())
    stages = config.get("stages")
    if isinstance(stages, dict):
        if rules is None:
            rules = default_rules()
        if services is None:
            services = default_services()
        # a customer message may quote no field marked PII: the standard ones and the config's own
        own_pii = config.get("pii_fields")
        marked = frozenset(DEFAULT_PII_FIELDS if pii_fields is None else pii_fields)
        if isinstance(own_pii, list):
            marked = marked.union(f for f in own_pii if isinstance(f, str))
        problems.extend(_ConfigChecks(stages, rules, services, marked).run())
    unique = list(dict.fromkeys(problems))
    unique.sort(key=_sort_key)
    return unique


def same_stage_dependencies(rule: Any, stage_rules: Mapping[str, Any]) -> list[str]:
    """The rules of its own stage that ``rule`` needs first: its ``dependencies``, plus
    any ``cross_stage_dependencies`` entry that names a rule of the same stage (the
    seed configs write some same-stage dependencies that way; they work as such)."""
    if not isinstance(rule, dict):
        return []
    found: list[str] = []
    for key in ("dependencies", "cross_stage_dependencies"):
        deps = rule.get(key)
        if isinstance(deps, list):
            found.extend(d for d in deps if isinstance(d, str) and d in stage_rules)
    return list(dict.fromkeys(found))


class _ConfigChecks:
    """The params, service and meaning checks of one config's stages."""

    def __init__(
        self,
        stages: dict[str, Any],
        rules: Mapping[str, type[Rule]],
        services: Any,
        pii_fields: frozenset[str] = DEFAULT_PII_FIELDS,
    ):
        self.stages = stages
        self.pii_fields = frozenset(field.lower() for field in pii_fields)
        self.rule_classes = rules
        self.services = services
        self.problems: list[Problem] = []
        self.stage_names = list(stages)
        # rule id -> (stage position, stage name); the first occurrence wins
        self.home: dict[str, tuple[int, str]] = {}

    def add(self, parts: Sequence[Any], message: str) -> None:
        self.problems.append(Problem(pointer(parts), message))

    def stage_rules(self) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
        for position, (stage_name, stage) in enumerate(self.stages.items()):
            rules = stage.get("rules") if isinstance(stage, dict) else None
            if isinstance(rules, dict):
                for rule_id, rule in rules.items():
                    if isinstance(rule, dict):
                        yield position, stage_name, rule_id, rule

    def run(self) -> list[Problem]:
        for position, stage_name, rule_id, _ in self.stage_rules():
            if rule_id in self.home:
                first_stage = self.home[rule_id][1]
                where = (
                    "earlier in the same stage" if first_stage == stage_name else f"in stage '{first_stage}'"
                )
                self.add(
                    ["stages", stage_name, "rules", rule_id],
                    f"The rule id '{rule_id}' is already used {where}; rule ids must be unique across "
                    f"the pipeline because cross-stage dependencies refer to them.",
                )
            else:
                self.home[rule_id] = (position, stage_name)
        for stage_name, stage in self.stages.items():
            if isinstance(stage, dict) and isinstance(stage.get("when"), str):
                self.check_condition(["stages", stage_name, "when"], stage["when"])
            if isinstance(stage, dict) and isinstance(stage.get("customer_message"), str):
                self.check_customer_message(
                    ["stages", stage_name, "customer_message"], stage["customer_message"]
                )
        for position, stage_name, rule_id, rule in self.stage_rules():
            base = ["stages", stage_name, "rules", rule_id]
            self.check_class_params_services(base, rule)
            self.check_dependencies(base, position, stage_name, rule_id, rule)
            self.check_cross_stage_dependencies(base, position, stage_name, rule_id, rule)
            if isinstance(rule.get("when"), str):
                self.check_condition(base + ["when"], rule["when"])
            if isinstance(rule.get("customer_message"), str):
                self.check_customer_message(base + ["customer_message"], rule["customer_message"])
        self.check_cycles()
        self.check_disabled_dependencies()
        return self.problems

    def check_disabled_dependencies(self) -> None:
        for found in disabled_dependencies({"stages": self.stages}):
            rule, dep = found.rule.rule, found.dependency
            if found.stage_disabled:
                why, fix = f"which belongs to the disabled stage '{dep.stage}'", f"enable stage '{dep.stage}'"
            else:
                why, fix = f"which is disabled (stage '{dep.stage}')", f"enable '{dep.rule}'"
            self.add(
                list(found.parts),
                f"'{rule}' depends on '{dep.rule}', {why}: '{rule}' could never run, "
                f"so no application could pass. Disable '{rule}' too, or {fix}.",
            )

    def check_customer_message(self, parts: list[Any], template: str) -> None:
        """A customer message quotes record fields as {field}, none of them PII: it is
        what may be told to the applicant."""
        try:
            fields = message_fields(template)
        except ValueError as error:
            self.add(parts, str(error))
            return
        personal = [field for field in dict.fromkeys(fields) if field.lower() in self.pii_fields]
        if personal:
            quoted = ", ".join(f"{{{field}}}" for field in personal)
            self.add(
                parts,
                f"The customer message quotes {quoted}, marked as personal data (PII); a customer "
                f"message may quote only fields that are not.",
            )

    def check_condition(self, parts: list[Any], source: str) -> None:
        if not source:
            return  # the document schema already said it must not be empty
        problem = condition_problem(source)
        if problem:
            self.add(parts, problem)

    def check_class_params_services(self, base: list[Any], rule: dict[str, Any]) -> None:
        class_name = rule.get("class")
        if not isinstance(class_name, str):
            return
        rule_class = self.rule_classes.get(class_name)
        if rule_class is None:
            known = sorted(self.rule_classes)
            message = f"There is no rule class named '{class_name}'."
            guess = _closest(class_name, known)
            if guess:
                message += f" Did you mean '{guess}'?"
            message += (
                f" Available classes: {', '.join(known)}." if known else " No rule classes are available."
            )
            self.add(base + ["class"], message)
            return
        params = rule.get("params", {})
        if not isinstance(params, dict):
            return  # the document schema already reported it
        # mypy checks a class against Hashable with the instance signature of __hash__
        validator = _params_validator(rule_class)  # type: ignore[arg-type]
        if isinstance(validator, SchemaError):
            self.add(
                base + ["class"],
                f"The rule class '{class_name}' has a broken params schema (a bug in the "
                f"rule library, not in this config): {validator.message}.",
            )
            return
        param_problems = schema_problems(params, validator, base + ["params"])
        if param_problems:
            self.problems.extend(param_problems)
            return
        self.check_services(base, rule_class, params)

    def check_services(self, base: list[Any], rule_class: type[Rule], params: dict[str, Any]) -> None:
        try:
            refs = rule_class.service_refs(params)
        except Exception as error:  # noqa: BLE001 - a rule class bug becomes a problem, not a crash
            self.add(
                base + ["params"],
                f"The services of this rule could not be worked out from its params "
                f"({type(error).__name__}: {error}).",
            )
            return
        for slot, ref in refs.items():
            if self.services.is_bound(ref):
                continue
            known = sorted(self.services.interfaces())
            message = f"No service is bound for '{ref}'."
            if ref.interface not in known:
                message += f" There is no adapter for the interface '{ref.interface}'" + (
                    f"; interfaces with adapters: {', '.join(known)}." if known else "."
                )
            else:
                message += f" The interface '{ref.interface}' has no adapter named '{ref.name}'."
            self.add(base + (["params", slot] if slot in params else []), message)

    def _unknown_rule(self, dep: str) -> str:
        message = f"There is no rule '{dep}' in this pipeline."
        guess = _closest(dep, self.home)
        if guess:
            message += f" Did you mean '{guess}'?"
        return message

    def check_dependencies(
        self, base: list[Any], position: int, stage_name: str, rule_id: str, rule: dict[str, Any]
    ) -> None:
        deps = rule.get("dependencies")
        if not isinstance(deps, list):
            return
        own_rules = self.stages[stage_name]["rules"]
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                continue
            parts = base + ["dependencies", i]
            if dep == rule_id:
                self.add(parts, "A rule cannot depend on itself.")
            elif dep in own_rules:
                continue
            elif dep in self.home:
                other_position, other_stage = self.home[dep]
                if other_position < position:
                    self.add(
                        parts,
                        f"'{dep}' belongs to stage '{other_stage}', not to this stage; "
                        f"list rules of earlier stages under cross_stage_dependencies.",
                    )
                else:
                    self.add(
                        parts,
                        f"'{dep}' belongs to stage '{other_stage}', which runs after stage "
                        f"'{stage_name}'; a rule can only depend on rules of its own or earlier stages.",
                    )
            else:
                self.add(parts, self._unknown_rule(dep))

    def check_cross_stage_dependencies(
        self, base: list[Any], position: int, stage_name: str, rule_id: str, rule: dict[str, Any]
    ) -> None:
        deps = rule.get("cross_stage_dependencies")
        if not isinstance(deps, list):
            return
        own_rules = self.stages[stage_name]["rules"]
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                continue
            parts = base + ["cross_stage_dependencies", i]
            if dep == rule_id:
                self.add(parts, "A rule cannot depend on itself.")
            elif dep in own_rules:
                continue  # the seed configs do this: it works as a same-stage dependency
            elif dep in self.home:
                other_position, other_stage = self.home[dep]
                if other_position > position:
                    self.add(
                        parts,
                        f"'{dep}' belongs to stage '{other_stage}', which runs after stage "
                        f"'{stage_name}'; a rule can only depend on rules of earlier stages.",
                    )
            else:
                self.add(parts, self._unknown_rule(dep))

    def check_cycles(self) -> None:
        for stage_name, stage in self.stages.items():
            rules = stage.get("rules") if isinstance(stage, dict) else None
            if not isinstance(rules, dict):
                continue
            graph = {rule_id: same_stage_dependencies(rule, rules) for rule_id, rule in rules.items()}
            for cycle in find_cycles(list(rules), graph):
                first = rules[cycle[0]]
                key = (
                    "dependencies"
                    if cycle[1] in (first.get("dependencies") or ())
                    else "cross_stage_dependencies"
                )
                self.add(
                    ["stages", stage_name, "rules", cycle[0], key],
                    f"These rules depend on each other in a circle, so none of them can run first: "
                    f"{' -> '.join(cycle)}.",
                )
