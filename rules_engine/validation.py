"""Checking a pipeline config, reporting every problem at once.

First the document must be plain JSON data (:func:`plain_data_problems`: at most
MAX_VALUES values, not nested past MAX_DEPTH, no NaN or infinite numbers, no integers
past 64 bits, no lone surrogates or NUL characters); when it is not, that is all that
is reported. Then three passes, each on whatever the previous one left usable:

1. the document against the JSON Schema shipped in ``rules_engine/schema``;
2. each rule's ``params`` against its rule class's ``params_schema``;
3. meaning: unknown classes, unknown / misplaced / cyclic dependencies, rule ids used
   twice, services nothing binds, ``when`` conditions that are not valid CEL, and
   enabled rules that depend on a disabled rule or on a rule of a disabled stage
   (such a rule could never run, so no application could pass: disable it too, or
   enable what it needs).

Unknown keys are errors at every level the schema describes (a misspelt
``dependancies`` must not be silently ignored); ``params`` belong to the rule class's
schema. Rule ids are unique across the pipeline, since cross-stage dependencies name
them. A ``cross_stage_dependencies`` entry naming a rule of the *same* stage is
accepted as a same-stage dependency: both seed configs do that, and they must
validate as written.

Each :class:`Problem` has a JSON pointer (``/stages/compliance/rules/pep_screening/class``)
and a plain sentence for the people who edit pipelines. Problems come back sorted by
path. :func:`validate_config` never raises for a bad config; ``compile_pipeline``
raises :class:`ConfigError` carrying the same list.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from rules_engine.conditions import condition_problem
from rules_engine.dependency_graph import find_cycles
from rules_engine.dependents import disabled_dependencies
from rules_engine.schema import pipeline_schema


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config: where (a JSON pointer, "" for the whole
    document) and what, as a sentence."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(config)'}: {self.message}"


class ConfigError(ValueError):
    """A config that cannot be compiled; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"The pipeline config has {count} problem{'s' if count != 1 else ''}:\n{lines}")


# --------------------------------------------------------------------------- pointers


def pointer(parts: Iterable[Any]) -> str:
    """The JSON pointer (RFC 6901) of a path given as keys and list indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _sort_key(problem: Problem) -> tuple:
    segments = tuple(
        (0, int(s), "") if s.isascii() and s.isdigit() else (1, 0, s) for s in problem.path.split("/")[1:]
    )
    return segments, problem.message


# ------------------------------------------------------------------ describing values

_TYPE_WORDS = {
    "object": "an object (a set of named settings)",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _subject(parts: Sequence[Any]) -> str:
    """How to name the value at ``parts`` in a sentence."""
    if not parts:
        return "The config"
    if len(parts) == 2 and parts[0] == "stages":
        return f"Stage '{parts[1]}'"
    if len(parts) == 4 and parts[0] == "stages" and parts[2] == "rules":
        return f"Rule '{parts[3]}'"
    last = parts[-1]
    if isinstance(last, int):
        owner = parts[-2] if len(parts) > 1 else "the list"
        return f"Item {last + 1} of '{owner}'"
    return f"'{last}'"


def _holder(parts: Sequence[Any]) -> str:
    """How to name the object at ``parts`` as the owner of settings."""
    if not parts:
        return "the config"
    if len(parts) == 2 and parts[0] == "stages":
        return f"stage '{parts[1]}'"
    if len(parts) == 4 and parts[0] == "stages" and parts[2] == "rules":
        return f"rule '{parts[3]}'"
    if len(parts) == 5 and parts[4] == "retry":
        return f"the retry settings of rule '{parts[3]}'"
    return f"'{parts[-1]}'"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


# ------------------------------------------------------- JSON Schema errors -> problems


def schema_problems(
    instance: Any, validator: Draft202012Validator, base: Sequence[Any] = ()
) -> list[Problem]:
    """Every JSON Schema error of ``instance``, as problems under the path ``base``."""
    problems = []
    for error in validator.iter_errors(instance):
        problems.extend(_error_problems(error, list(base)))
    return problems


def _error_problems(error: ValidationError, base: list[Any]) -> list[Problem]:
    parts = base + list(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    subject = _subject(parts)

    if "propertyNames" in error.relative_schema_path:
        return [
            Problem(
                pointer(parts),
                f"{_cap(_holder(parts))} has an entry named {_show(instance)}, which is "
                f"not allowed. {_value_message(error, 'A name')}",
            )
        ]
    in_params = len(parts) == 5 and parts[0] == "stages" and parts[4] == "params"
    noun = "param" if in_params else "setting"
    owner = f"rule '{parts[3]}'" if in_params else _holder(parts)
    if kind == "required":
        missing = [key for key in value if isinstance(instance, dict) and key not in instance]
        return [
            Problem(pointer(parts + [key]), f"{_cap(owner)} is missing the required {noun} '{key}'.")
            for key in missing
        ]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extras = [key for key in instance if key not in allowed and not any(p.search(key) for p in patterns)]
        problems = []
        for key in extras:
            message = f"'{key}' is not a {noun} {owner} can have."
            guess = _closest(key, allowed)
            if guess:
                message += f" Did you mean '{guess}'?"
            if allowed:
                message += f" Allowed: {', '.join(allowed)}."
            problems.append(Problem(pointer(parts + [key]), message))
        return problems or [Problem(pointer(parts), f"{subject} has settings that are not allowed here.")]
    return [Problem(pointer(parts), _value_message(error, subject))]


def _value_message(error: ValidationError, subject: str) -> str:
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return f"{subject} must be {wanted}, but it is {_kind(instance)}."
    if kind == "enum":
        choices = ", ".join(_show(choice) for choice in value)
        message = f"{subject} must be one of: {choices}; it is {_show(instance)}."
        if isinstance(instance, str):
            guess = _closest(instance, [c for c in value if isinstance(c, str)])
            if guess:
                message += f" Did you mean {_show(guess)}?"
        return message
    if kind == "const":
        return f"{subject} must be {_show(value)}; it is {_show(instance)}."
    if kind == "minimum":
        return f"{subject} must be at least {value}; it is {_show(instance)}."
    if kind == "exclusiveMinimum":
        return f"{subject} must be greater than {value}; it is {_show(instance)}."
    if kind == "maximum":
        return f"{subject} must be at most {value}; it is {_show(instance)}."
    if kind == "exclusiveMaximum":
        return f"{subject} must be less than {value}; it is {_show(instance)}."
    if kind == "multipleOf":
        return f"{subject} must be a multiple of {value}; it is {_show(instance)}."
    if kind == "minLength":
        return (
            f"{subject} must not be empty."
            if value == 1
            else f"{subject} must be at least {value} characters long."
        )
    if kind == "maxLength":
        return f"{subject} must be at most {value} characters long."
    if kind == "minItems":
        return (
            f"{subject} must not be an empty list."
            if value == 1
            else f"{subject} must list at least {value} items."
        )
    if kind == "maxItems":
        return f"{subject} must list at most {value} items; it lists {len(instance)}."
    if kind == "uniqueItems":
        seen: list[Any] = []
        repeated = None
        for item in instance:
            if item in seen:
                repeated = item
                break
            seen.append(item)
        return f"{subject} lists {_show(repeated)} more than once; each entry may appear only once."
    if kind == "minProperties":
        if subject == "'stages'":
            return "The pipeline must have at least one stage."
        return f"{subject} must have at least {value} {'entry' if value == 1 else 'entries'}."
    if kind == "maxProperties":
        return f"{subject} must have at most {value} entries."
    if kind == "pattern":
        return f"{subject} does not have the expected form: {_show(instance)} does not match the pattern {value}."
    if kind == "format":
        return f"{subject} is not a valid {value}: {_show(instance)}."
    if kind == "dependentRequired":
        pairs = [
            (key, need)
            for key, needs in value.items()
            if key in instance
            for need in needs
            if need not in instance
        ]
        if pairs:
            key, need = pairs[0]
            return f"{subject}: when '{key}' is given, '{need}' must be given too."
    if kind in ("anyOf", "oneOf"):
        context = list(error.context or [])
        if context and all(sub.validator == "type" and not sub.relative_path for sub in context):
            types: list[str] = []
            for sub in context:
                for t in (
                    [sub.validator_value] if isinstance(sub.validator_value, str) else sub.validator_value
                ):
                    if t not in types:
                        types.append(t)
            return f"{subject} must be {' or '.join(_TYPE_WORDS.get(t, t) for t in types)}, but it is {_kind(instance)}."
        if kind == "oneOf" and not context:
            return f"{subject} matches more than one of the allowed forms; it must match exactly one."
        if context:
            best = best_match(context)
            inner = (
                _subject(list(error.absolute_path) + list(best.relative_path))
                if best.relative_path
                else subject
            )
            return _value_message(best, inner)
        return f"{subject} does not match any of the allowed forms."
    if kind == "not":
        return f"{subject} has a value that is not allowed here: {_show(instance)}."
    if kind == "contains":
        return f"{subject} does not contain any entry of the expected kind."
    if kind is None or value is False:
        return f"{subject} is not allowed here."
    return f"{subject} is not valid here (it breaks the '{kind}' check)."


# ------------------------------------------------------------- plain JSON data first

#: How deeply a config may nest objects and lists (real configs use about ten levels).
MAX_DEPTH = 64
#: Integers a config may hold: 64-bit, as every JSON tool and database reads them.
MAX_INTEGER = 2**63 - 1
#: Values (objects, lists, texts, numbers...) a config may hold, counting a YAML alias
#: once per use: real configs hold a few thousand, and a "billion laughs" document of
#: nested aliases stops here instead of being walked value by value.
MAX_VALUES = 100_000


def _printable(text: str) -> str:
    """Text safe to show and encode: a lone surrogate is written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def plain_data_problems(config: Any) -> list[Problem]:
    """What makes ``config`` something other than plain JSON data: more than MAX_VALUES
    values, nesting deeper than MAX_DEPTH, NaN or infinite numbers, integers past 64
    bits, names that are not text, text that is not valid Unicode (lone surrogates) or
    holds a NUL character (PostgreSQL stores none), values of other types. The walk is
    iterative and bounded, so no document exhausts the stack or the clock; the other
    checks (which recurse, and hash and print values) only run without these problems."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple]] = [(config, ())]
    visited = 0
    while stack and len(problems) < 100:
        value, parts = stack.pop()
        visited += 1
        if visited > MAX_VALUES:
            return [
                Problem(
                    "", f"The config holds more than {MAX_VALUES:,} values; a config is never that large."
                )
            ]
        if isinstance(value, (dict, list)) and len(parts) >= MAX_DEPTH:
            problems.append(
                Problem(
                    pointer(parts),
                    f"This value nests lists and objects more than {MAX_DEPTH} levels "
                    "deep; a config is never that deep.",
                )
            )
        elif isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    problems.append(
                        Problem(
                            pointer(parts + (_printable(str(key)),)),
                            f"The name {_printable(repr(key))} is not text; names must be text.",
                        )
                    )
                elif _printable(key) != key:
                    problems.append(
                        Problem(
                            pointer(parts + (_printable(key),)),
                            "This name is not valid Unicode text (it holds a lone surrogate).",
                        )
                    )
                elif "\x00" in key:
                    problems.append(
                        Problem(
                            pointer(parts + (key,)),
                            "This name contains a NUL character, which databases cannot store.",
                        )
                    )
                else:
                    stack.append((child, parts + (key,)))
        elif isinstance(value, list):
            stack.extend((child, parts + (i,)) for i, child in enumerate(value))
        elif isinstance(value, str):
            if _printable(value) != value:
                problems.append(
                    Problem(pointer(parts), "This text is not valid Unicode (it holds a lone surrogate).")
                )
            elif "\x00" in value:
                problems.append(
                    Problem(
                        pointer(parts), "This text contains a NUL character, which databases cannot store."
                    )
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(
                    Problem(
                        pointer(parts), f"{_cap(_subject(parts))} is {value!r}, which is not a JSON number."
                    )
                )
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
                problems.append(
                    Problem(
                        pointer(parts),
                        f"{_cap(_subject(parts))} is a number too large to use "
                        f"(the largest is {MAX_INTEGER}).",
                    )
                )
        elif value is not None and not isinstance(value, bool):
            problems.append(
                Problem(
                    pointer(parts),
                    f"{_cap(_subject(parts))} is {type(value).__name__}, which is "
                    "not JSON data (text, number, true/false, null, list or object).",
                )
            )
    return problems


# ------------------------------------------------------------------------ registries


def default_rules() -> dict[str, type]:
    from rules_engine.rules import default_rule_registry

    return default_rule_registry()


class _DefaultServices:
    """The built-in simulated adapters, built on first use (a pipeline whose rules call
    no service never needs them)."""

    def __init__(self) -> None:
        self._registry = None

    def _get(self):
        if self._registry is None:
            from rules_engine.services import default_registry

            self._registry = default_registry()
        return self._registry

    def is_bound(self, ref) -> bool:
        return self._get().is_bound(ref)

    def interfaces(self) -> set[str]:
        return self._get().interfaces()

    def resolve(self, ref):
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
    config: Any, *, rules: Mapping[str, type] | None = None, services: Any = None
) -> list[Problem]:
    """Every problem with ``config``, sorted by path; an empty list means it compiles.

    ``rules``: rule classes by name (default: the built-in library);
    ``services``: a ServiceRegistry (default: the simulated adapters)."""
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
        problems.extend(_ConfigChecks(stages, rules, services).run())
    unique = list(dict.fromkeys(problems))
    unique.sort(key=_sort_key)
    return unique


def same_stage_dependencies(rule: Any, stage_rules: Mapping[str, Any]) -> list[str]:
    """The rules of its own stage that ``rule`` needs first: its ``dependencies``, plus
    any ``cross_stage_dependencies`` entry that names a rule of the same stage (the
    seed configs write some same-stage dependencies that way; they work as such)."""
    if not isinstance(rule, dict):
        return []
    found = []
    for key in ("dependencies", "cross_stage_dependencies"):
        deps = rule.get(key)
        if isinstance(deps, list):
            found.extend(d for d in deps if isinstance(d, str) and d in stage_rules)
    return list(dict.fromkeys(found))


class _ConfigChecks:
    """The params, service and meaning checks of one config's stages."""

    def __init__(self, stages: dict, rules: Mapping[str, type], services: Any):
        self.stages = stages
        self.rule_classes = rules
        self.services = services
        self.problems: list[Problem] = []
        self.stage_names = list(stages)
        # rule id -> (stage position, stage name); the first occurrence wins
        self.home: dict[str, tuple[int, str]] = {}

    def add(self, parts: Sequence[Any], message: str) -> None:
        self.problems.append(Problem(pointer(parts), message))

    def stage_rules(self):
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
        for position, stage_name, rule_id, rule in self.stage_rules():
            base = ["stages", stage_name, "rules", rule_id]
            self.check_class_params_services(base, rule)
            self.check_dependencies(base, position, stage_name, rule_id, rule)
            self.check_cross_stage_dependencies(base, position, stage_name, rule_id, rule)
            if isinstance(rule.get("when"), str):
                self.check_condition(base + ["when"], rule["when"])
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

    def check_condition(self, parts: list[Any], source: str) -> None:
        if not source:
            return  # the document schema already said it must not be empty
        problem = condition_problem(source)
        if problem:
            self.add(parts, problem)

    def check_class_params_services(self, base: list[Any], rule: dict) -> None:
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
        validator = _params_validator(rule_class)
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

    def check_services(self, base: list[Any], rule_class: type, params: dict) -> None:
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

    def check_dependencies(self, base, position, stage_name, rule_id, rule) -> None:
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

    def check_cross_stage_dependencies(self, base, position, stage_name, rule_id, rule) -> None:
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
