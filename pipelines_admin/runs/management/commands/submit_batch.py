import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.configs.selectors import environment_get, pipeline_get
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.runs.batches import batch_create
from pipelines_admin.runs.models import Batch, Run
from pipelines_admin.runs.selectors import batch_progress


class Command(BaseCommand):
    help = (
        "Run a CSV or JSONL file of applications through a pipeline's live config in an environment, "
        "on the workers. Prints the total, passed, failed, review, undecided and error counts; exits 0 when the "
        "batch ran."
    )

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help="the pipeline's slug")
        parser.add_argument("--env", required=True, help="the environment whose live release runs")
        parser.add_argument("--input", required=True, type=Path, help="a .csv or .jsonl file")
        parser.add_argument(
            "--wait", action="store_true", help="wait for the workers to finish, showing progress"
        )
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds to wait at most (with --wait)"
        )
        parser.add_argument("--user", default="admin", help="who submits it (needs the editor role)")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.")
        path: Path = options["input"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            batch = batch_create(
                pipeline=pipeline_get(options["pipeline"]),
                environment=environment_get(options["env"]),
                filename=path.name,
                data=path.read_bytes(),
                actor=user,
                source=Run.Source.CLI,
            )
        except ServiceError as exc:
            rejected = exc.extra.get("rejected_rows", []) if isinstance(exc.extra, dict) else []
            for row in rejected[:20]:
                self.stderr.write(f"  line {row['line']}: {row['reason']}")
            raise CommandError(exc.message) from None
        self.stdout.write(f"batch {batch.pk}: {batch.total} applications queued")
        for row in batch.rejected_rows[:20]:
            self.stdout.write(f"  skipped line {row['line']}: {row['reason']}")
        if options["wait"]:
            batch = self._wait(batch, options["timeout"])
        progress = batch_progress(batch)
        self.stdout.write(
            f"total={progress.total} processed={progress.processed} passed={progress.passed} "
            f"failed={progress.failed} review={progress.review} undecided={progress.undecided} error={progress.errored} rejected={len(batch.rejected_rows)} "
            f"status={progress.status}"
        )

    def _wait(self, batch: Batch, timeout: float) -> Batch:
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            batch.refresh_from_db()
            if batch.processed != last:
                last = batch.processed
                self.stdout.write(f"  {batch.processed}/{batch.total} processed")
            if batch.status in (Batch.Status.COMPLETED, Batch.Status.CANCELLED):
                return batch
            time.sleep(0.5)
        raise CommandError(
            f"The batch did not finish within {timeout:.0f} s; it goes on in the background "
            f"(batch {batch.pk})."
        )
