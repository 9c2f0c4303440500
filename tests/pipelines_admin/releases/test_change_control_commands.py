"""The commands cannot change an environment under change control: releasing from the
command line, applying a folder and importing a file open a change request (exit 3) or
release nothing; a superuser is no exception."""

import json

import pytest

from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs.models import Release
from pipelines_admin.testcases import services as case_services
from tests.pipelines_admin.changes.conftest import controlled, live_pipeline  # noqa: F401  (fixtures)
from tests.pipelines_admin.releases.test_as_code_commands import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate_open(live_pipeline, cases, controlled, publisher):
    """Version 2 passed the suite for production, so only change control stands in the way."""
    suite = case_services.suite_run_now(
        pipeline=live_pipeline,
        environment=controlled,
        actor=publisher,
        version=live_pipeline.versions.get(number=2),
    )
    assert suite.status == "passed"
    return live_pipeline


def live_in_production():
    return list(Release.objects.filter(environment__name="production").values_list("pk", flat=True))


@pytest.mark.parametrize("user", ["pat", "root"])
def test_release_pipeline__controlled_production__request_opened_exit_3_nothing_released(
    gate_open, publisher, superuser, user
):
    code, out, err = run(
        "release_pipeline", "onboarding", "--env", "production", "--reason", "Q4", "--user", user
    )
    assert code == 3, out + err
    request = ChangeRequest.objects.get()
    assert request.author.username == user and request.payload["version"] == 2
    assert f"Change request #{request.pk} opened for production" in out
    assert live_in_production() == []


@pytest.mark.parametrize("user", ["pat", "root"])
def test_apply_pipelines__release_to_controlled_production__request_opened_nothing_released(
    gate_open, publisher, superuser, user, tmp_path
):
    document = dict(gate_open.versions.get(number=2).document)
    document["description"] = "from the folder"
    (tmp_path / "onboarding.json").write_text(json.dumps(document))
    code, out, err = run(
        "apply_pipelines", str(tmp_path), "--release", "production", "--reason", "Q4", "--user", user
    )
    assert code == 3, out + err
    assert ChangeRequest.objects.filter(environment__name="production", author__username=user).count() == 1
    assert live_in_production() == []


def test_import_pipeline__new_version__never_released_anywhere(gate_open, superuser, tmp_path):
    document = dict(gate_open.versions.get(number=2).document)
    document["description"] = "imported"
    path = tmp_path / "onboarding.json"
    path.write_text(json.dumps(document))
    before = Release.objects.count()
    code, out, err = run("import_pipeline", str(path), "--pipeline", "onboarding", "--user", "root")
    assert code == 0, out + err
    assert Release.objects.count() == before and live_in_production() == []
