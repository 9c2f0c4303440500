import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.configs.overrides import apply_override, override_between, provenance

keys = st.text(alphabet="abcde/~", min_size=1, max_size=3)
scalars = st.one_of(
    st.integers(-5, 5), st.booleans(), st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    scalars | st.lists(scalars, max_size=3),
    lambda children: st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
documents = st.dictionaries(keys, json_values, max_size=5)


def test_apply_override__null_removes_objects_merge_arrays_replace():
    # Given a document and a patch using each RFC 7396 rule
    doc = {"a": 1, "b": {"c": 2, "d": 3}, "list": [1, 2, 3]}
    patch = {"a": None, "b": {"c": 20, "e": 5}, "list": [9]}
    # When applied
    result = apply_override(doc, patch)
    # Then null removed a, objects merged, the array was replaced; the inputs are untouched
    assert result == {"b": {"c": 20, "d": 3, "e": 5}, "list": [9]}
    assert doc == {"a": 1, "b": {"c": 2, "d": 3}, "list": [1, 2, 3]}
    assert patch == {"a": None, "b": {"c": 20, "e": 5}, "list": [9]}


def test_provenance__overridden_and_removed_values__marked():
    # Given a stage toggle and a removed param in the override
    doc = {"stages": {"s": {"enabled": True, "rules": {"r": {"class": "X", "params": {"p": 1, "q": 2}}}}}}
    override = {"stages": {"s": {"enabled": False, "rules": {"r": {"params": {"q": None}}}}}}
    # When provenance is computed
    marks = provenance(doc, override)
    # Then each leaf says where it came from
    assert marks["/stages/s/enabled"] == "override"
    assert marks["/stages/s/rules/r/class"] == "base"
    assert marks["/stages/s/rules/r/params/p"] == "base"
    assert marks["/stages/s/rules/r/params/q"] == "removed"


@settings(max_examples=150, deadline=None)
@given(documents, documents)
def test_override_between__any_two_documents__patch_turns_one_into_the_other(base, target):
    # Given any two JSON documents without null values (merge patches cannot express null)
    # When the override between them is computed and applied
    patch = override_between(base, target)
    # Then applying it to the base gives the target, and the base is untouched
    snapshot = copy.deepcopy(base)
    assert apply_override(base, patch) == target
    assert base == snapshot


@settings(max_examples=150, deadline=None)
@given(documents, documents)
def test_apply_override__applied_twice__same_as_once(base, patch):
    # Given any document and patch / When the patch is applied twice / Then it is idempotent
    once = apply_override(base, patch)
    assert apply_override(once, patch) == once


@settings(max_examples=150, deadline=None)
@given(documents, documents)
def test_provenance__any_override__every_changed_leaf_is_marked_override(base, patch):
    # Given any document and override
    effective = apply_override(base, patch)
    marks = provenance(base, patch)
    # Then a leaf marked "base" has the base's value, and every changed leaf is marked override
    for pointer, origin in marks.items():
        if origin == "removed":
            continue
        in_effective, in_base = resolve(effective, pointer), resolve(base, pointer)
        changed = in_base is MISSING or in_base != in_effective
        assert origin == ("override" if changed else origin), pointer
        if origin == "base":
            assert not changed, pointer


MISSING = object()


def resolve(doc, pointer):
    node = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return MISSING
        node = node[token]
    return node
