"""Config as code: documents as YAML or JSON text, and planning and applying a folder."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.engine import document_hash, document_load
from pipelines_admin.configs.models import ConfigVersion, Pipeline, Release
from pipelines_admin.core.errors import InvalidInput, NotAllowed
from pipelines_admin.releases.as_code import (
    CHANGED,
    INVALID,
    NEW,
    NOT_IN_FOLDER,
    FolderInvalid,
    document_read,
    document_text,
    folder_apply,
    folder_plan,
    format_for,
    plan_lines,
)

# ------------------------------------------------------------------ text round trip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(st.text(), json_values, max_size=6), fmt=st.sampled_from(["yaml", "json"]))
def test_document_text__any_json_document__reads_back_equal_in_the_same_key_order(
    tmp_path_factory, document, fmt
):
    # Given any JSON document (any text, any key order) written as YAML or JSON
    path = tmp_path_factory.mktemp("doc") / f"pipeline.{fmt}"
    path.write_text(document_text(document, fmt), encoding="utf-8")
    # When read back as the commands read files (the engine's loader)
    loaded = document_load(path)
    # Then it is the same document, keys in the same order: the same content hash
    assert loaded == document
    assert document_hash(loaded) == document_hash(document)


def test_document_text__yaml__keeps_document_order_and_non_ascii_text():
    # Given a document whose keys are not in alphabetical order, with non-ASCII text
    document = {
        "stages": {"zeta": {"rules": {}}, "alpha": {"rules": {}}},
        "description": "Contrôle d’identité — 本人確認",
    }
    # When written as YAML
    text = document_text(document, "yaml")
    # Then the order is the document's and the text is as written
    assert text.index("zeta") < text.index("alpha") < text.index("description")
    assert "Contrôle d’identité — 本人確認" in text


@pytest.mark.parametrize(
    "path, fmt, expected",
    [
        (None, None, "yaml"),
        (None, "json", "json"),
        ("p.json", None, "json"),
        ("p.yml", None, "yaml"),
        ("p.YAML", "yaml", "yaml"),
    ],
)
def test_format_for__output_and_format__the_format_written(path, fmt, expected):
    assert format_for(path, fmt) == expected


@pytest.mark.parametrize(
    "path, fmt, message",
    [
        ("p.yaml", "json", "would be read back as yaml"),
        ("p.txt", None, "ends in .yaml, .yml or .json"),
    ],
)
def test_format_for__disagreeing_or_unknown__refused(path, fmt, message):
    with pytest.raises(InvalidInput, match=message):
        format_for(path, fmt)


def test_document_read__duplicate_key__one_problem_for_the_whole_file(tmp_path):
    # Given a YAML file naming a rule twice in one stage
    path = tmp_path / "p.yaml"
    path.write_text("stages:\n  s:\n    rules:\n      a: {class: X}\n      a: {class: Y}\n")
    # When read / Then the document is refused with a problem naming the key
    document, problems = document_read(path)
    assert document is None
    assert problems[0]["path"] == "" and "the key 'a' appears twice" in problems[0]["message"]


# ------------------------------------------------------------------ pipeline files


def write(folder, name, document):
    path = folder / name
    if name.endswith(".json"):
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(document_text(document, "yaml"), encoding="utf-8")
    return path


def stricter(document, age=21):
    changed = copy.deepcopy(document)
    changed["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = age
    return changed


def invalid(document):
    broken = copy.deepcopy(document)
    broken["stages"]["business_rules"]["rules"]["age_verification"]["class"] = "NoSuchRule"
    broken["stages"]["data_quality"]["timeout_seconds"] = -1
    return broken


# ------------------------------------------------------------------ folders

with_db = pytest.mark.django_db


@with_db
def test_folder_plan__each_kind__status_and_changes(released, tmp_path, small_pipeline_document, editor):
    # Given onboarding (v1 in the database) changed in the folder, a new pipeline, an
    # invalid file, and a pipeline in the database without a file
    config_services.pipeline_create(
        slug="legacy", name="Legacy", document=small_pipeline_document, author=editor
    )
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.json", small_pipeline_document)
    write(tmp_path, "broken.yml", invalid(small_pipeline_document))
    (tmp_path / "README.md").write_text("not a pipeline")
    # When planned
    plan = folder_plan(tmp_path)
    # Then each is what it is, the change spelled out, every problem listed
    by_slug = {e.slug: e for e in plan.entries}
    assert {slug: e.status for slug, e in by_slug.items()} == {
        "broken": INVALID,
        "kyc": NEW,
        "onboarding": CHANGED,
        "legacy": NOT_IN_FOLDER,
    }
    assert [c["summary"] for c in by_slug["onboarding"].changes] == [
        "Rule age_verification: minimum_age 18 → 21."
    ]
    assert {p["path"] for p in by_slug["broken"].problems} >= {
        "/stages/business_rules/rules/age_verification/class",
        "/stages/data_quality/timeout_seconds",
    }
    assert plan.pending == [by_slug["kyc"], by_slug["onboarding"]]
    assert "Plan: 1 new, 1 changed, 1 invalid, 1 not in the folder." == plan_lines(plan)[-1]


@with_db
def test_folder_plan__only_key_order_changed__changed_and_said_so(
    released, tmp_path, small_pipeline_document
):
    # Given the same rules with the params' keys in another order (same values, another hash)
    document = copy.deepcopy(small_pipeline_document)
    params = document["stages"]["business_rules"]["rules"]["age_verification"]["params"]
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"] = dict(
        reversed(params.items())
    )
    write(tmp_path, "onboarding.json", document)
    # When planned / Then it is a change, and the plan says what kind
    plan = folder_plan(tmp_path)
    assert plan.entries[0].status == CHANGED and plan.entries[0].changes == []
    assert any("only the order of keys" in line for line in plan_lines(plan))


@with_db
def test_folder_plan__two_files_one_slug_and_a_bad_name__invalid(db, tmp_path, small_pipeline_document):
    # Given onboarding twice (YAML and JSON) and a file whose name is no slug
    write(tmp_path, "onboarding.yaml", small_pipeline_document)
    write(tmp_path, "onboarding.json", small_pipeline_document)
    write(tmp_path, "Customer onboarding.yaml", small_pipeline_document)
    # When planned / Then both are invalid, saying why
    entries = {e.slug: e for e in folder_plan(tmp_path).entries}
    assert (
        entries["onboarding"].status == INVALID
        and "several files" in entries["onboarding"].problems[0]["message"]
    )
    assert entries["Customer onboarding"].status == INVALID
    assert "slug" in entries["Customer onboarding"].problems[0]["message"]


@with_db
def test_folder_apply__new_and_changed__versions_made_through_the_services(
    released, tmp_path, editor, small_pipeline_document
):
    # Given onboarding changed and a new pipeline named in its document
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.json", {**small_pipeline_document, "name": "KYC checks"})
    before = AuditEvent.objects.count()
    # When applied
    done = folder_apply(folder=tmp_path, author=editor, message="From the repository")
    # Then onboarding has v2 on top of v1, kyc exists with v1, each audited as from the console
    assert [(a.entry.slug, a.version.number) for a in done.applied] == [("kyc", 1), ("onboarding", 2)]
    assert released.versions.get(number=2).parent.number == 1
    assert Pipeline.objects.get(slug="kyc").name == "KYC checks"
    actions = list(
        AuditEvent.objects.filter(sequence__gt=before).order_by("sequence").values_list("action", "reason")
    )
    assert actions == [
        ("pipeline.created", ""),
        ("config_version.created", "From the repository"),
        ("config_version.created", "From the repository"),
    ]
    # and a second plan finds nothing to do
    assert folder_plan(tmp_path).pending == []


@with_db
def test_folder_apply__one_invalid_file__nothing_stored(released, tmp_path, editor, small_pipeline_document):
    # Given a valid change and an invalid new file
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.yaml", invalid(small_pipeline_document))
    counts = (ConfigVersion.objects.count(), Pipeline.objects.count(), AuditEvent.objects.count())
    # When applied / Then refused with the invalid file's problems, and nothing is stored
    with pytest.raises(FolderInvalid) as refused:
        folder_apply(folder=tmp_path, author=editor)
    assert refused.value.extra["files"][0]["file"] == "kyc.yaml"
    assert (ConfigVersion.objects.count(), Pipeline.objects.count(), AuditEvent.objects.count()) == counts


@with_db
def test_folder_apply__a_release_refused__the_versions_too(
    released, tmp_path, editor, small_pipeline_document
):
    # Given two changed pipelines and an editor releasing to production (publishers only)
    config_services.pipeline_create(slug="kyc", name="KYC", document=small_pipeline_document, author=editor)
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.yaml", stricter(small_pipeline_document, 25))
    counts = (ConfigVersion.objects.count(), Release.objects.count(), AuditEvent.objects.count())
    # When applied with --release production / Then refused, and no version was kept either
    with pytest.raises(NotAllowed):
        folder_apply(
            folder=tmp_path, author=editor, release_to="production", reason="CAB-1", submit=change_submit
        )
    assert (ConfigVersion.objects.count(), Release.objects.count(), AuditEvent.objects.count()) == counts


@with_db
def test_folder_apply__release__only_new_and_changed_released(
    released, tmp_path, editor, small_pipeline_document, environments
):
    # Given onboarding changed, legacy unchanged (v1 live in staging is not touched), kyc new
    legacy = config_services.pipeline_create(
        slug="legacy", name="Legacy", document=small_pipeline_document, author=editor
    )
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "legacy.yaml", small_pipeline_document)
    write(tmp_path, "kyc.yaml", small_pipeline_document)
    # When applied and released to staging
    done = folder_apply(folder=tmp_path, author=editor, release_to="staging", submit=change_submit)
    # Then the new and the changed run in staging, through release_create (audited), legacy does not
    staging = environments["staging"]
    assert {(r.pipeline.slug, r.version.number) for r in Release.objects.filter(environment=staging)} == {
        ("onboarding", 2),
        ("kyc", 1),
    }
    assert not Release.objects.filter(pipeline=legacy).exists()
    assert AuditEvent.objects.filter(action="release.created", environment="staging").count() == 2
    assert {a.entry.slug for a in done.applied if a.release} == {"onboarding", "kyc"}
