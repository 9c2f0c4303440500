import pytest

from pipelines_admin.configs import services as config_services
from pipelines_admin.releases import services as release_services


@pytest.fixture
def controlled(environments):
    """Production under change control: one approval by another publisher."""
    production = environments["production"]
    production.change_requests_required = True
    production.approvals_required = 1
    production.save()
    return production


@pytest.fixture
def live_pipeline(released, editor, environments):
    """The small pipeline with version 1 live in development and staging, and a version 2
    written by the editor."""
    release_services.release_create(
        pipeline=released, environment=environments["staging"], version=released.versions.get(), actor=editor
    )
    document = dict(released.versions.get().document)
    document["description"] = "version two"
    config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="v2",
    )
    return released
