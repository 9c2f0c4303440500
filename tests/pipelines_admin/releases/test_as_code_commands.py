"""import_pipeline, export_pipeline, release_pipeline, plan_pipelines and apply_pipelines:
output, exit codes, what is stored and audited."""

import copy
import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import ConfigVersion, Pipeline, Release
from pipelines_admin.releases import services as release_services
from pipelines_admin.testcases import services as testcase_services

from ..conftest import make_user
from .test_as_code import invalid, stricter, write

pytestmark = pytest.mark.django_db

NON_ASCII = "Ouverture de compte — vérification d’identité, 本人確認"


def run(*args):
    """(exit code, stdout, stderr) of a management command; stderr ends with the error."""
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def stored():
    """What the commands may write: versions, pipelines, releases, audit events."""
    return (
        ConfigVersion.objects.count(),
        Pipeline.objects.count(),
        Release.objects.count(),
        AuditEvent.objects.count(),
    )


def new_actions(before: int) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(sequence__gt=before)
        .order_by("sequence")
        .values_list("action", "actor_name")
    )


def last_sequence() -> int:
    event = AuditEvent.objects.order_by("-sequence").first()
    return event.sequence if event else 0


# ------------------------------------------------------------------ who acts


def test_import_pipeline__no_user_named__acts_as_the_only_superuser(
    superuser, tmp_path, small_pipeline_document
):
    # Given one superuser and a new pipeline's file
    path = write(tmp_path, "kyc.yaml", small_pipeline_document)
    # When imported without --user / Then the superuser created it, as the audit trail says
    code, out, _ = run("import_pipeline", str(path), "--pipeline", "kyc")
    assert code == 0 and "kyc: created, v1" in out
    assert new_actions(0) == [("pipeline.created", "root"), ("config_version.created", "root")]


@pytest.mark.parametrize(
    "superusers, message",
    [
        (0, "There is no superuser to act as: name the user with --user USERNAME."),
        (2, "There are 2 superusers (root, root2): name the one to act as with --user USERNAME."),
    ],
)
def test_import_pipeline__not_one_superuser_and_no_user__exit_2_nothing_stored(
    django_user_model, editor, tmp_path, small_pipeline_document, superusers, message
):
    # Given no superuser, or two
    for name in ["root", "root2"][:superusers]:
        make_user(django_user_model, name, superuser=True)
    path = write(tmp_path, "kyc.yaml", small_pipeline_document)
    # When imported without --user / Then refused, saying what to do
    code, _, err = run("import_pipeline", str(path), "--pipeline", "kyc")
    assert code == 2 and message in err
    assert stored() == (0, 0, 0, 0)


def test_import_pipeline__unknown_user__exit_2(superuser, tmp_path, small_pipeline_document):
    path = write(tmp_path, "kyc.yaml", small_pipeline_document)
    code, _, err = run("import_pipeline", str(path), "--pipeline", "kyc", "--user", "nobody")
    assert code == 2 and "There is no active user 'nobody'" in err


# ------------------------------------------------------------------ import_pipeline


def test_import_pipeline__changed_file__next_version_on_the_latest_audited(
    released, editor, tmp_path, small_pipeline_document
):
    # Given onboarding v1 and a file raising the minimum age
    path = write(tmp_path, "onboarding.json", stricter(small_pipeline_document))
    before = last_sequence()
    # When imported by the editor with a message
    code, out, _ = run(
        "import_pipeline",
        str(path),
        "--pipeline",
        "onboarding",
        "--message",
        "Minimum age 21",
        "--user",
        "eddie",
    )
    # Then v2 is saved on top of v1 with the message, audited like a save in the console
    assert code == 0 and "onboarding: v2 saved on top of v1" in out
    version = released.versions.get(number=2)
    assert (version.parent.number, version.message, version.author) == (1, "Minimum age 21", editor)
    assert new_actions(before) == [("config_version.created", "eddie")]
    event = AuditEvent.objects.get(sequence=before + 1)
    assert event.diff["changes"][0]["summary"] == "Rule age_verification: minimum_age 18 → 21."


def test_import_pipeline__same_content__unchanged_exit_0_nothing_stored(
    released, editor, tmp_path, small_pipeline_document
):
    # Given a file holding exactly version 1
    path = write(tmp_path, "onboarding.yaml", small_pipeline_document)
    counts = stored()
    # When imported / Then nothing is stored and it says so
    code, out, _ = run("import_pipeline", str(path), "--pipeline", "onboarding", "--user", "eddie")
    assert code == 0 and "onboarding: unchanged, still v1" in out
    assert stored() == counts


def test_import_pipeline__new_pipeline__named_by_name_option(superuser, tmp_path, small_pipeline_document):
    path = write(tmp_path, "kyc.yaml", small_pipeline_document)
    code, _, _ = run("import_pipeline", str(path), "--pipeline", "kyc", "--name", "KYC checks")
    assert code == 0 and Pipeline.objects.get(slug="kyc").name == "KYC checks"


@pytest.mark.parametrize("name", ["onboarding.yaml", "onboarding.json"])
def test_import_pipeline__invalid_config__every_problem_with_its_path_exit_2_nothing_stored(
    released, editor, tmp_path, small_pipeline_document, name
):
    # Given a file with two problems
    path = write(tmp_path, name, invalid(small_pipeline_document))
    counts = stored()
    # When imported
    code, _, err = run("import_pipeline", str(path), "--pipeline", "onboarding", "--user", "eddie")
    # Then each problem is printed with its JSON pointer, exit 2, and nothing is stored
    assert code == 2
    assert "/stages/business_rules/rules/age_verification/class: " in err
    assert "/stages/data_quality/timeout_seconds: " in err
    assert "nothing was stored" in err
    assert stored() == counts


@pytest.mark.parametrize(
    "name, text",
    [
        ("p.yaml", "version: '1.0'\nstages: {}\nstages: {}\n"),
        ("p.json", '{"version": "1.0", "stages": {}, "stages": {}}'),
    ],
)
def test_import_pipeline__duplicate_key__refused_exit_2(superuser, tmp_path, name, text):
    # Given a file naming a key twice (a parser would silently keep the last)
    path = tmp_path / name
    path.write_text(text)
    # When imported / Then refused: the key is named
    code, _, err = run("import_pipeline", str(path), "--pipeline", "kyc")
    assert code == 2 and "'stages' appears twice" in err
    assert stored() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "name, message", [("kyc.txt", "ends in .yaml, .yml or .json"), ("absent.yaml", "no such file")]
)
def test_import_pipeline__unreadable_file__exit_2(superuser, tmp_path, name, message):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("{}")
    code, _, err = run("import_pipeline", str(path), "--pipeline", "kyc")
    assert code == 2 and message in err


def test_import_pipeline__viewer__refused_exit_1_nothing_stored(
    released, viewer, tmp_path, small_pipeline_document
):
    # Given a valid change and a viewer
    path = write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    counts = stored()
    # When the viewer imports it / Then refused like in the console, nothing stored
    code, _, err = run("import_pipeline", str(path), "--pipeline", "onboarding", "--user", "vic")
    assert code == 1 and "Your role does not allow you to create config versions." in err
    assert stored() == counts


def test_import_pipeline__bad_slug__exit_2_nothing_stored(superuser, tmp_path, small_pipeline_document):
    path = write(tmp_path, "kyc.yaml", small_pipeline_document)
    code, _, err = run("import_pipeline", str(path), "--pipeline", "not a slug")
    assert code == 2 and "slug" in err
    assert stored() == (0, 0, 0, 0)


# ------------------------------------------------------------------ export_pipeline


def test_export_pipeline__latest_as_yaml__document_order_kept(released, editor, small_pipeline_document):
    # Given v1 and v2 (stages in non-alphabetical order: data_quality, business_rules)
    config_services.config_version_create(
        pipeline=released,
        document=stricter(small_pipeline_document),
        base_version=released.versions.get(),
        author=editor,
        message="21",
    )
    # When exported
    code, out, _ = run("export_pipeline", "onboarding")
    # Then the latest version is printed as YAML, stages in their order
    document = yaml.safe_load(out)
    assert code == 0 and document == stricter(small_pipeline_document)
    assert list(document["stages"]) == ["data_quality", "business_rules"]


def test_export_pipeline__version__that_version_as_json(released, editor, small_pipeline_document):
    config_services.config_version_create(
        pipeline=released,
        document=stricter(small_pipeline_document),
        base_version=released.versions.get(),
        author=editor,
        message="21",
    )
    code, out, _ = run("export_pipeline", "onboarding", "--version", "1", "--format", "json")
    assert code == 0 and json.loads(out) == small_pipeline_document


def test_export_pipeline__env__the_effective_config_with_its_override(released, editor, environments):
    # Given development running v1 with an override raising the minimum age
    override = {
        "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 30}}}}}
    }
    release_services.override_set(
        pipeline=released, environment=environments["development"], override=override, actor=editor
    )
    # When development's config is exported / Then it is v1 with the override applied
    code, out, _ = run("export_pipeline", "onboarding", "--env", "development", "--format", "json")
    rule = json.loads(out)["stages"]["business_rules"]["rules"]["age_verification"]
    assert code == 0 and rule["params"]["minimum_age"] == 30


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "There is no pipeline 'nope'"),
        (["onboarding", "--version", "9"], "onboarding has no version 9"),
        (["onboarding", "--env", "moon"], "There is no environment 'moon'"),
        (["onboarding", "--env", "staging"], "onboarding has not been released to staging yet"),
        (["onboarding", "--format", "json", "--output", "p.yaml"], "would be read back as yaml"),
    ],
)
def test_export_pipeline__what_does_not_exist__exit_2(released, args, message):
    code, out, err = run("export_pipeline", *args)
    assert code == 2 and message in err and out == ""


@pytest.mark.parametrize("name", ["onboarding.yaml", "onboarding.yml", "onboarding.json"])
def test_export_then_import__same_content_hash_non_ascii_kept(
    released, editor, superuser, tmp_path, small_pipeline_document, name
):
    # Given a version with non-ASCII text, its keys in no alphabetical order (stages before version)
    document = dict(reversed({**copy.deepcopy(small_pipeline_document), "description": NON_ASCII}.items()))
    version = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="Described",
    )
    # When exported to a file, then imported into the same pipeline and into another
    path = tmp_path / name
    assert run("export_pipeline", "onboarding", "--output", str(path))[0] == 0
    assert NON_ASCII in path.read_text(encoding="utf-8")
    code, out, _ = run("import_pipeline", str(path), "--pipeline", "onboarding")
    assert code == 0 and "unchanged, still v2" in out
    assert run("import_pipeline", str(path), "--pipeline", "copy")[0] == 0
    # Then the content hash is the same: same values, same key order
    assert Pipeline.objects.get(slug="copy").versions.get().content_hash == version.content_hash


# ------------------------------------------------------------------ release_pipeline


def test_release_pipeline__latest_to_staging__released_and_audited(released, editor, small_pipeline_document):
    # Given v2 saved after v1
    config_services.config_version_create(
        pipeline=released,
        document=stricter(small_pipeline_document),
        base_version=released.versions.get(),
        author=editor,
        message="21",
    )
    before = last_sequence()
    # When the editor releases to staging
    code, out, _ = run("release_pipeline", "onboarding", "--env", "staging", "--user", "eddie")
    # Then v2 runs in staging, recorded as the console records a release
    assert code == 0 and "Released onboarding v2 in staging" in out
    assert Release.objects.get(environment__name="staging").version.number == 2
    assert new_actions(before) == [("release.created", "eddie")]


def test_release_pipeline__version__that_version(released, editor, small_pipeline_document):
    config_services.config_version_create(
        pipeline=released,
        document=stricter(small_pipeline_document),
        base_version=released.versions.get(),
        author=editor,
        message="21",
    )
    code, _, _ = run(
        "release_pipeline", "onboarding", "--env", "staging", "--version", "1", "--user", "eddie"
    )
    assert code == 0 and Release.objects.get(environment__name="staging").version.number == 1


def test_release_pipeline__already_running__exit_0_nothing_released(released, editor):
    counts = stored()
    code, out, _ = run("release_pipeline", "onboarding", "--env", "development", "--user", "eddie")
    assert code == 0 and "development runs onboarding v1 already" in out
    assert stored() == counts


@pytest.mark.parametrize(
    "user, args, code, message",
    [
        ("vic", ["--env", "staging"], 1, "Your role does not allow you to change environments."),
        (
            "eddie",
            ["--env", "production", "--reason", "CAB-1"],
            1,
            "Only publishers may change the protected environment production.",
        ),
        ("pat", ["--env", "production"], 2, "production is protected: give a reason for this change."),
        ("pat", ["--env", "moon"], 2, "There is no environment 'moon'"),
        ("pat", ["--env", "staging", "--version", "7"], 2, "onboarding has no version 7"),
    ],
)
def test_release_pipeline__refused__exit_code_message_nothing_released(
    released, viewer, publisher, user, args, code, message
):
    counts = stored()
    got, _, err = run("release_pipeline", "onboarding", *args, "--user", user)
    assert (got, message in err) == (code, True)
    assert stored() == counts


def test_release_pipeline__gate_closed__exit_1_says_why_nothing_released(released, publisher, cases):
    # Given production, protected, and no suite run on v1 as production would run it
    counts = stored()
    # When the publisher releases with a reason
    code, _, err = run(
        "release_pipeline", "onboarding", "--env", "production", "--reason", "CAB-1", "--user", "pat"
    )
    # Then the gate is closed: why, what to do, exit 1, nothing released
    assert code == 1
    assert "Release gate: The test suite has not run on this exact config" in err
    assert "manage.py test_pipeline onboarding --env production --config-version 1" in err
    assert stored() == counts


def test_release_pipeline__suite_passed_on_it__gate_open_released(released, publisher, cases, environments):
    # Given the test cases passed on v1 as production would run it
    suite = testcase_services.suite_run_now(
        pipeline=released,
        environment=environments["production"],
        actor=publisher,
        version=released.versions.get(),
    )
    assert suite.status == "passed"
    # When released / Then it goes through, the gate's pass printed and audited
    code, out, _ = run(
        "release_pipeline", "onboarding", "--env", "production", "--reason", "CAB-1", "--user", "pat"
    )
    assert (
        code == 0
        and f"Release gate: The test suite passed on this exact config (suite run #{suite.pk}" in out
    )
    event = AuditEvent.objects.get(action="release.created", environment="production")
    assert event.data["gate"] == {"result": "passed", "suite_run": suite.pk} and event.reason == "CAB-1"


def test_release_pipeline__gate_override__change_request_opened_exit_3_nothing_released(
    released, publisher, publisher2
):
    from pipelines_admin.changes.models import ChangeRequest
    from pipelines_admin.changes.services import change_request_apply, change_request_approve

    code, out, _ = run(
        "release_pipeline",
        "onboarding",
        "--env",
        "production",
        "--reason",
        "Hotfix INC-7",
        "--gate-override",
        "--user",
        "pat",
    )
    # Then exit 3 (pending approval): nobody overrides the gate for their own change
    request = ChangeRequest.objects.get()
    assert code == 3, out
    assert f"Change request #{request.pk} opened for production: needs 1 approval" in out
    assert not Release.objects.filter(environment__name="production").exists()
    # and once a second publisher approves and it is applied, the override is audited
    change_request_approve(change_request=request, actor=publisher2)
    change_request_apply(change_request=request, actor=publisher)
    event = AuditEvent.objects.get(action="release_gate.overridden")
    assert (event.actor_name, event.reason) == ("pat", f"Change request #{request.pk}: Hotfix INC-7")


# ------------------------------------------------------------------ plan_pipelines


def test_plan_pipelines__folder_matches__exit_0(released, tmp_path, small_pipeline_document):
    write(tmp_path, "onboarding.yaml", small_pipeline_document)
    code, out, _ = run("plan_pipelines", str(tmp_path))
    assert code == 0 and "onboarding.yaml: unchanged (v1)" in out and "Plan: 1 unchanged." in out


def test_plan_pipelines__changed_and_new__exit_2_with_the_changes(
    released, tmp_path, small_pipeline_document
):
    # Given onboarding changed and a new pipeline
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.json", small_pipeline_document)
    counts = stored()
    # When planned
    code, out, _ = run("plan_pipelines", str(tmp_path))
    # Then exit 2, each change readable, nothing written
    assert code == 2
    assert "onboarding.yaml: changed (v1 in the database; applying makes v2)" in out
    assert "    Rule age_verification: minimum_age 18 → 21." in out
    assert "kyc.json: new pipeline kyc (applying makes v1)" in out
    assert "    Rule age_verification (AgeVerificationRule) added to business_rules." in out
    assert stored() == counts


def test_plan_pipelines__an_invalid_file__exit_1_every_problem(released, tmp_path, small_pipeline_document):
    # Given an invalid file next to a changed one
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.yaml", invalid(small_pipeline_document))
    # When planned / Then exit 1 (never 0: it is not "nothing to change"), every problem with its path
    code, out, err = run("plan_pipelines", str(tmp_path))
    assert code == 1
    assert "kyc.yaml: invalid, 2 problems" in out
    assert "    /stages/business_rules/rules/age_verification/class: " in out
    assert "    /stages/data_quality/timeout_seconds: " in out
    assert "1 file is invalid" in err


def test_plan_pipelines__unreadable_file_only__exit_1(db, tmp_path):
    (tmp_path / "kyc.yaml").write_text("stages: [unclosed\n")
    code, out, _ = run("plan_pipelines", str(tmp_path))
    assert code == 1 and "kyc.yaml: invalid, 1 problem" in out and "not valid YAML" in out


def test_plan_pipelines__pipeline_without_file__reported_never_deleted(released, tmp_path):
    # Given an empty folder and onboarding in the database
    code, out, _ = run("plan_pipelines", str(tmp_path))
    assert code == 0 and "onboarding: not in the folder (v1 in the database; it stays)" in out
    # and applying it deletes nothing
    assert run("apply_pipelines", str(tmp_path), "--user", "eddie")[0] == 0
    assert Pipeline.objects.filter(slug="onboarding").exists()


def test_plan_pipelines__not_a_folder__exit_1(db, tmp_path):
    code, _, err = run("plan_pipelines", str(tmp_path / "absent"))
    assert code == 1 and "is not a folder" in err


# ------------------------------------------------------------------ apply_pipelines


def test_apply_pipelines__changes__versions_made_then_plan_exit_0(
    released, editor, tmp_path, small_pipeline_document
):
    # Given onboarding changed and a new pipeline
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.json", small_pipeline_document)
    before = last_sequence()
    # When applied with a message
    code, out, _ = run("apply_pipelines", str(tmp_path), "--message", "Merge #12", "--user", "eddie")
    # Then each version is made, said and audited; a second plan finds nothing to do
    assert code == 0
    assert "kyc: created, v1" in out and "onboarding: v2 saved on top of v1" in out
    assert "Applied: 2 versions saved." in out
    assert new_actions(before) == [
        ("pipeline.created", "eddie"),
        ("config_version.created", "eddie"),
        ("config_version.created", "eddie"),
    ]
    assert released.versions.get(number=2).message == "Merge #12"
    assert run("plan_pipelines", str(tmp_path))[0] == 0


def test_apply_pipelines__an_invalid_file__exit_2_nothing_stored(
    released, editor, tmp_path, small_pipeline_document
):
    # Given a valid change and an invalid file
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    write(tmp_path, "kyc.yaml", invalid(small_pipeline_document))
    counts = stored()
    # When applied / Then nothing is stored, the problems are printed, exit 2
    code, _, err = run("apply_pipelines", str(tmp_path), "--user", "eddie")
    assert code == 2 and "/stages/data_quality/timeout_seconds" in err and "nothing was stored" in err
    assert stored() == counts


def test_apply_pipelines__release_staging__each_changed_one_released(
    released, editor, tmp_path, small_pipeline_document
):
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    before = last_sequence()
    code, out, _ = run("apply_pipelines", str(tmp_path), "--release", "staging", "--user", "eddie")
    assert code == 0 and "onboarding: v2 saved on top of v1; released to staging" in out
    assert "Applied: 1 version saved, 1 released to staging." in out
    assert new_actions(before) == [("config_version.created", "eddie"), ("release.created", "eddie")]


def test_apply_pipelines__gate_closed__exit_1_nothing_stored(
    released, publisher, cases, tmp_path, small_pipeline_document
):
    # Given a change, released to production where no suite has passed on it
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    counts = stored()
    # When applied with --release production / Then the gate refuses, and the version is not kept either
    code, _, err = run(
        "apply_pipelines", str(tmp_path), "--release", "production", "--reason", "CAB-1", "--user", "pat"
    )
    assert code == 1 and "Release gate:" in err and "Nothing was stored." in err
    assert stored() == counts


def test_apply_pipelines__viewer__exit_1_nothing_stored(released, viewer, tmp_path, small_pipeline_document):
    write(tmp_path, "onboarding.yaml", stricter(small_pipeline_document))
    counts = stored()
    code, _, err = run("apply_pipelines", str(tmp_path), "--user", "vic")
    assert code == 1 and "Your role does not allow you to create config versions." in err
    assert stored() == counts


def test_apply_pipelines__nothing_changed__exit_0_nothing_stored(
    released, editor, tmp_path, small_pipeline_document
):
    write(tmp_path, "onboarding.yaml", small_pipeline_document)
    counts = stored()
    code, out, _ = run("apply_pipelines", str(tmp_path), "--release", "staging", "--user", "eddie")
    assert code == 0 and "onboarding: unchanged, still v1" in out and "Applied: 0 versions saved" in out
    assert stored() == counts
