"""Pipelines, versions (optimistic concurrency: 409 with the diff) and validation."""

import copy

import pytest

from pipelines_admin.configs.models import ConfigVersion, Pipeline
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def changed(document, minimum_age):
    document = copy.deepcopy(document)
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = minimum_age
    return document


def test_pipelines_list__viewer__each_pipeline_with_latest_version_and_live_releases(
    token_client, viewer, released
):
    # Given onboarding released to development only / When a viewer lists pipelines
    response = token_client(viewer).get("/api/v1/pipelines/")
    # Then it is there with its latest version and where it runs
    assert response.status_code == 200
    [row] = response.json()
    assert (row["slug"], row["latest_version"]) == ("onboarding", 1)
    live = {e["environment"]: e["live"] for e in row["environments"]}
    assert live["development"]["version"] == 1 and live["production"] is None


def test_pipeline_create__editor__201_with_location_and_version_1(
    token_client, editor, environments, small_pipeline_document
):
    # Given an editor and a valid document
    body = {"slug": "kyc", "name": "KYC", "document": small_pipeline_document, "message": "from git"}
    # When they create a pipeline
    response = token_client(editor).post("/api/v1/pipelines/", body, format="json")
    # Then 201, pointing at the new pipeline, whose version 1 is the document
    assert response.status_code == 201
    assert response["Location"] == "http://testserver/api/v1/pipelines/kyc/"
    assert response.json()["latest_version"] == 1
    assert ConfigVersion.objects.get(pipeline__slug="kyc").document == small_pipeline_document


def test_pipeline_create__invalid_document__400_with_problem_paths(
    token_client, editor, environments, small_pipeline_document
):
    # Given a document naming a rule class that does not exist
    small_pipeline_document["stages"]["data_quality"]["rules"]["email_format"]["class"] = "NoSuchRule"
    # When posted
    response = token_client(editor).post(
        "/api/v1/pipelines/",
        {"slug": "kyc", "name": "KYC", "document": small_pipeline_document},
        format="json",
    )
    # Then 400 with each problem at its JSON pointer, and nothing saved
    body = assert_error(response, 400)
    paths = [p["path"] for p in body["extra"]["problems"]]
    assert "/stages/data_quality/rules/email_format/class" in paths
    assert not Pipeline.objects.filter(slug="kyc").exists()


def test_pipeline_create__existing_slug__409(token_client, editor, released, small_pipeline_document):
    # Given onboarding exists / When created again / Then 409
    response = token_client(editor).post(
        "/api/v1/pipelines/",
        {"slug": "onboarding", "name": "Again", "document": small_pipeline_document},
        format="json",
    )
    assert assert_error(response, 409)["extra"] == {"pipeline": "onboarding"}


def test_pipeline_create__viewer__403(token_client, viewer, environments, small_pipeline_document):
    # Given a viewer / When they create a pipeline / Then 403 from the service
    response = token_client(viewer).post(
        "/api/v1/pipelines/",
        {"slug": "kyc", "name": "KYC", "document": small_pipeline_document},
        format="json",
    )
    assert "create config versions" in assert_error(response, 403)["message"]


def test_pipeline_get__unknown__404(token_client, viewer, environments):
    # Given no pipeline nope / When asked for / Then 404
    assert_error(token_client(viewer).get("/api/v1/pipelines/nope/"), 404)


def test_version_create__based_on_latest__201_with_location_and_parent(
    token_client, editor, released, small_pipeline_document
):
    # Given version 1 is the latest / When an editor saves a change based on it
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": changed(small_pipeline_document, 21), "base_version": 1, "message": "minimum age 21"},
        format="json",
    )
    # Then version 2 is created from version 1
    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["parent"], body["author"], body["message"]) == (
        2,
        1,
        "eddie",
        "minimum age 21",
    )
    assert response["Location"] == body["url"] == "http://testserver/api/v1/pipelines/onboarding/versions/2/"


def test_version_create__stale_base__409_with_latest_and_diff(
    token_client, editor, publisher, released, small_pipeline_document
):
    # Given someone saved version 2 after version 1
    token_client(publisher).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": changed(small_pipeline_document, 21), "base_version": 1, "message": "21"},
        format="json",
    )
    # When an editor saves their change still based on version 1
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": changed(small_pipeline_document, 25), "base_version": 1, "message": "25"},
        format="json",
    )
    # Then nothing is saved: 409 with the latest number and what changed since their base
    extra = assert_error(response, 409)["extra"]
    assert (extra["base_version"], extra["latest_version"]) == (1, 2)
    assert [c["kind"] for c in extra["changes"]] == ["param_changed"]
    assert extra["changes"][0]["after"] == 21
    assert '-            "minimum_age": 18' in extra["text_diff"] and "+++ v2" in extra["text_diff"]
    assert ConfigVersion.objects.filter(pipeline__slug="onboarding").count() == 2


def test_version_create__same_document__400(token_client, editor, released, small_pipeline_document):
    # Given the document of version 1 / When saved again / Then 400: nothing changed
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": small_pipeline_document, "base_version": 1, "message": "again"},
        format="json",
    )
    assert "Nothing changed" in assert_error(response, 400)["message"]


def test_version_create__unknown_base__404(token_client, editor, released, small_pipeline_document):
    # Given no version 7 / When used as the base / Then 404
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": small_pipeline_document, "base_version": 7, "message": "x"},
        format="json",
    )
    assert assert_error(response, 404)["extra"] == {"version": 7}


def test_versions__list_get_and_diff__documents_and_changes(
    token_client, editor, viewer, released, small_pipeline_document
):
    # Given two versions
    token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": changed(small_pipeline_document, 21), "base_version": 1, "message": "21"},
        format="json",
    )
    client = token_client(viewer)
    # When a viewer lists, gets and compares them
    listed = client.get("/api/v1/pipelines/onboarding/versions/").json()
    version = client.get("/api/v1/pipelines/onboarding/versions/2/").json()
    diff = client.get("/api/v1/pipelines/onboarding/versions/1/diff/2/").json()
    # Then the list is newest first without documents, the version has its document, the diff its changes
    assert [v["number"] for v in listed] == [2, 1] and "document" not in listed[0]
    assert version["document"] == changed(small_pipeline_document, 21)
    assert (diff["before"], diff["after"]) == ("v1", "v2")
    assert diff["changes"][0]["summary"] == "Rule age_verification: minimum_age 18 → 21."
    assert_error(client.get("/api/v1/pipelines/onboarding/versions/99999999999/"), 404)


def test_validate__invalid_document__every_problem_with_json_pointer(
    token_client, viewer, small_pipeline_document
):
    # Given a document with two problems
    rules = small_pipeline_document["stages"]["data_quality"]["rules"]
    rules["email_format"]["class"] = "NoSuchRule"
    rules["required_fields"]["dependencies"] = ["ghost"]
    # When validated (a viewer may)
    response = token_client(viewer).post(
        "/api/v1/validate/", {"document": small_pipeline_document}, format="json"
    )
    # Then 200, not valid, each problem at its path
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    paths = {p["path"] for p in body["problems"]}
    assert "/stages/data_quality/rules/email_format/class" in paths
    assert any(p.startswith("/stages/data_quality/rules/required_fields/dependencies") for p in paths)


def test_validate__valid_document__valid_without_problems(token_client, viewer, small_pipeline_document):
    # Given a valid document / When validated / Then valid, no problems
    response = token_client(viewer).post(
        "/api/v1/validate/", {"document": small_pipeline_document}, format="json"
    )
    assert response.json() == {"valid": True, "problems": []}


def test_validate__not_an_object__problem_at_root(token_client, viewer):
    # Given a list instead of a document / When validated / Then a problem at the root
    response = token_client(viewer).post("/api/v1/validate/", {"document": [1, 2]}, format="json")
    assert response.json()["problems"][0]["path"] == ""


def test_validate__unknown_environment__404(token_client, viewer, environments, small_pipeline_document):
    # Given no environment moon / When validated against it / Then 404
    response = token_client(viewer).post(
        "/api/v1/validate/", {"document": small_pipeline_document, "environment": "moon"}, format="json"
    )
    assert_error(response, 404)
