"""The Django side reaches the engine through its public package only: `import
rules_engine` or `from rules_engine import ...`, never one of its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pipelines_admin
import rules_engine

PACKAGE = Path(pipelines_admin.__file__).parent


def engine_module_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for each import of a module inside rules_engine in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend((node.lineno, name) for name in names if name.startswith("rules_engine."))
    return found


def engine_names_used(source: str) -> list[tuple[int, str]]:
    """(line, name) for each name `source` takes from the rules_engine package:
    `from rules_engine import name` and `rules_engine.name`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "rules_engine":
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "rules_engine":
                found.append((node.lineno, node.attr))
    return found


def test_engine_module_imports__a_submodule__are_found():
    # Given code importing engine modules every way Python allows
    source = "import rules_engine.rules\nfrom rules_engine.masking import mask_value\nimport rules_engine\n"
    # When its imports are read
    found = engine_module_imports(source)
    # Then each submodule import is found, and the package import is not
    assert found == [(1, "rules_engine.rules"), (2, "rules_engine.masking")]


def test_pipelines_admin__every_module__imports_only_the_rules_engine_package():
    # Given every Python file of the Django project
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    # When their imports are read
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in files
        for line, module in engine_module_imports(path.read_text(encoding="utf-8"))
    ]
    # Then none reaches into the engine past its public package
    assert offenders == [], "import these names from rules_engine (add them to its __all__):\n" + "\n".join(
        offenders
    )


def test_engine_names_used__both_ways__are_found():
    source = "import rules_engine\nfrom rules_engine import mask_value\nrules_engine.validate_config({})\n"
    assert engine_names_used(source) == [(2, "mask_value"), (3, "validate_config")]


def test_pipelines_admin__every_engine_name_used__is_in_its_all():
    # Given every Python file of the Django project
    # When the names it takes from rules_engine are read
    outside = [
        f"{path.relative_to(PACKAGE.parent)}:{line} uses rules_engine.{name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in engine_names_used(path.read_text(encoding="utf-8"))
        if name not in rules_engine.__all__
    ]
    # Then each is one the engine makes public
    assert outside == [], "\n".join(outside)
