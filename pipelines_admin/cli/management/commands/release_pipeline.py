from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.accounts.commands import command_user
from pipelines_admin.changes.services import change_submit
from pipelines_admin.core.commands import (
    EXIT_PENDING,
    EXIT_REFUSED,
    VersionOption,
    command_error,
    opened_line,
    problem_lines,
)
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import pipeline_release
from pipelines_admin.testcases.gate import GateClosed


class Command(VersionOption, BaseCommand):
    help = (
        "Release a pipeline's version (the latest by default) to an environment, keeping the environment's "
        "override, with the console's checks: the role, a reason for a protected environment, the release "
        "gate. On an environment under change control, or with --gate-override, nothing is released: a change "
        "request is opened for other publishers to approve (printed as 'Change request #N opened for ENV: "
        "needs K approval(s)'). Exit 0: released, or the environment runs that version already; 1: refused "
        "(role, gate closed); 2: no such pipeline, version, environment or user, no reason for a protected "
        "environment, an invalid effective config; 3: pending approval (a change request was opened)."
    )

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help="the pipeline's slug")
        parser.add_argument("--env", required=True, help="the environment to release to")
        parser.add_argument(
            "--version",
            "--config-version",
            type=int,
            dest="config_version",
            help="the version to release (default: the latest)",
        )
        parser.add_argument("--reason", default="", help="why (required for protected environments)")
        parser.add_argument(
            "--gate-override",
            action="store_true",
            help="ask to release without a passing test suite: opens a change request that another "
            "publisher approves (exit 3)",
        )
        parser.add_argument(
            "--user",
            help="who releases it (editor, publisher for protected environments; "
            "default: the only superuser)",
        )

    def handle(self, *args, **options):
        user = command_user(options["user"])
        try:
            released = pipeline_release(
                slug=options["pipeline"],
                environment=options["env"],
                actor=user,
                version=options["config_version"],
                reason=options["reason"],
                gate_override=options["gate_override"],
                submit=change_submit,
            )
        except GateClosed as exc:
            self.stderr.write(exc.message)
            raise CommandError(
                f"Nothing was released. Run the test cases on this config (manage.py test_pipeline "
                f"{options['pipeline']} --env {options['env']} --config-version {exc.extra['version']}) and release "
                "again, or ask another publisher to approve releasing anyway with --gate-override and a --reason "
                "(a change request).",
                returncode=EXIT_REFUSED,
            ) from None
        except ServiceError as exc:
            for line in problem_lines(exc.extra):
                self.stderr.write(line)
            raise command_error(exc) from None
        if released.change_request is not None:
            self.stdout.write(opened_line(released.change_request))
            raise SystemExit(EXIT_PENDING)  # not an error: nothing is released until it is approved
        release = released.release
        if release is None:  # pragma: no cover - either a release or a change request
            raise CommandError("Nothing was released.", returncode=EXIT_REFUSED)
        where = f"{release.pipeline.slug} v{release.version.number} in {release.environment.name}"
        if released.already:
            self.stdout.write(
                f"{release.environment.name} runs {release.pipeline.slug} v{release.version.number} "
                f"already (release #{release.pk}): nothing released."
            )
            return
        self.stdout.write(f"Released {where} (release #{release.pk}, {release.effective_hash}).")
        gate = released.gate
        if gate.required:
            self.stdout.write(
                f"Release gate: {gate.message}"
                if gate.open
                else f"Release gate overridden (recorded with the reason): {gate.message}"
            )
