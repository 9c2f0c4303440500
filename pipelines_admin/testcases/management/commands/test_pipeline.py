import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.configs.selectors import environment_get, pipeline_get, version_get
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.testcases.models import SuiteRun
from pipelines_admin.testcases.services import suite_run_now


class Command(BaseCommand):
    help = (
        "Run a pipeline's test cases against an environment's live config (or a version as that environment "
        "would run it), in this process. Exit 0: every case passed; 1: some case failed; 2: the suite could "
        "not run (unknown pipeline, environment or version, no test cases, an invalid config)."
    )

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help="the pipeline's slug")
        parser.add_argument("--env", required=True, help="the environment whose config and services are used")
        parser.add_argument(
            "--config-version",
            type=int,
            help="test this version (with the environment's override) instead of the live one",
        )
        parser.add_argument("--user", default="admin", help="who runs it (needs the editor role)")
        parser.add_argument("--json", action="store_true", help="print the suite run as JSON")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.", returncode=2)
        try:
            pipeline = pipeline_get(options["pipeline"])
            version = version_get(pipeline, options["config_version"]) if options["config_version"] else None
            suite = suite_run_now(
                pipeline=pipeline, environment=environment_get(options["env"]), actor=user, version=version
            )
        except ServiceError as exc:
            raise CommandError(exc.message, returncode=2) from None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "suite_run": suite.pk,
                        "status": suite.status,
                        "target": suite.target,
                        "effective_hash": suite.effective_hash,
                        "total": suite.total,
                        "passed": suite.passed,
                        "failed": suite.failed,
                        "error": suite.error_message,
                        "cases": [
                            {k: e[k] for k in ("name", "passed", "status", "failures")} for e in suite.results
                        ],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            self.stdout.write(f"suite run #{suite.pk}: {suite.target} ({suite.effective_hash})")
            for entry in suite.results:
                mark = "PASS" if entry["passed"] else "FAIL"
                self.stdout.write(f"  {mark}  {entry['name']}")
                for failure in entry["failures"]:
                    self.stdout.write(f"        {failure['message']}")
            self.stdout.write(
                f"{suite.passed} passed, {suite.failed} failed, {suite.total} test cases: {suite.status}"
            )
        if suite.status == SuiteRun.Status.ERROR:
            raise CommandError(f"The suite could not run: {suite.error_message}", returncode=2)
        if suite.status == SuiteRun.Status.FAILED:
            raise CommandError(f"{suite.failed} of {suite.total} test cases failed.", returncode=1)
