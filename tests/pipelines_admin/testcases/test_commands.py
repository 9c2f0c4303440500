"""manage.py test_pipeline and manage.py impact: output and exit codes."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipelines_admin.configs import services as config_services

from ..impact.test_services import past_runs, stricter_version

pytestmark = pytest.mark.django_db


def run_command(*args):
    """(exit code, stdout) of a management command."""
    from io import StringIO

    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.fixture
def admin(editor):
    editor.username = "admin"
    editor.save()
    return editor


def test_test_pipeline__all_pass__exit_0_each_case_listed(admin, cases, released):
    code, out = run_command("test_pipeline", "onboarding", "--env", "development")
    assert code == 0
    assert "PASS  adult passes" in out and "PASS  minor fails" in out and "3 passed, 0 failed" in out


def test_test_pipeline__a_case_fails__exit_1_with_why(admin, cases, released):
    document = released.versions.get().document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 5
    config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=admin,
        message="lower",
    )
    code, out = run_command("test_pipeline", "onboarding", "--env", "development", "--config-version", "2")
    assert code == 1
    assert "FAIL  minor fails" in out and "the application passed, expected failed" in out
    assert "1 of 3 test cases failed" in out


def test_test_pipeline__json__machine_readable(admin, cases, released):
    code, out = run_command("test_pipeline", "onboarding", "--env", "development", "--json")
    report = json.loads(out)
    assert code == 0 and report["status"] == "passed" and len(report["cases"]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "--env", "development"], "There is no pipeline 'nope'"),
        (["onboarding", "--env", "moon"], "There is no environment 'moon'"),
        (["onboarding", "--env", "development", "--config-version", "9"], "has no version 9"),
        (["onboarding", "--env", "production"], "has not been released to production"),
    ],
)
def test_test_pipeline__bad_arguments__exit_2(admin, cases, released, args, message):
    code, out = run_command("test_pipeline", *args)
    assert code == 2 and message in out


def test_test_pipeline__no_cases__exit_2(admin, released):
    code, out = run_command("test_pipeline", "onboarding", "--env", "development")
    assert code == 2 and "no test cases" in out


def test_impact__candidate_version__summary_printed(admin, released, environments):
    past_runs(released, environments["development"], admin)
    stricter_version(released, admin)
    code, out = run_command(
        "impact", "onboarding", "--candidate-version", "2", "--env", "development", "--last", "100"
    )
    assert code == 0
    assert "replayed 12 applications: 4 would no longer pass, 0 would now pass" in out
    assert "business_rules/age_verification: 4 changed" in out and "latency before: mean" in out


def test_impact__json_and_override_file(admin, released, environments, tmp_path):
    past_runs(released, environments["development"], admin, n=6)
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"stages": {"business_rules": {"enabled": False}}}))
    code, out = run_command(
        "impact", "onboarding", "--override", str(patch), "--env", "development", "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["replayed"] == 6 and report["flips"]["to_pass"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["onboarding", "--env", "development"], "Say what to compare"),
        (["onboarding", "--env", "development", "--candidate-version", "1"], "exactly what runs"),
        (["onboarding", "--env", "development", "--candidate-version", "2", "--last", "0"], "between 1 and"),
    ],
)
def test_impact__bad_arguments__exit_2(admin, released, environments, args, message):
    past_runs(released, environments["development"], admin, n=2)
    stricter_version(released, admin)
    code, out = run_command("impact", *args)
    assert code == 2 and message in out
