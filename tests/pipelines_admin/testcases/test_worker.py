"""A suite run and an impact analysis through the configured broker and a real worker process."""

import pytest

from pipelines_admin.impact import services as impact_services
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.testcases import services
from pipelines_admin.testcases.models import SuiteRun

from ..impact.test_services import past_runs, stricter_version
from ..runs.test_worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_suite_and_impact__real_worker__both_finish(
    celery_worker_process, cases, released, environments, editor, settings
):
    suite = services.suite_start(pipeline=released, environment=environments["development"], actor=editor)
    done = wait_for(
        lambda: SuiteRun.objects.filter(pk=suite.pk, status__in=SuiteRun.FINISHED).first(),
        celery_worker_process,
    )
    assert done.status == "passed" and done.passed == 3 and done.enqueued_at is not None

    past_runs(released, environments["development"], editor, n=8)
    settings.IMPACT_CHUNK_SIZE = 3
    report = impact_services.impact_start(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        version=stricter_version(released, editor),
        last=8,
    )
    done = wait_for(
        lambda: ImpactReport.objects.filter(pk=report.pk, status="completed").first(), celery_worker_process
    )
    assert done.processed == done.total == 8 and done.tally["replayed"] == 8
    assert done.chunks.filter(status="done").count() == 3
