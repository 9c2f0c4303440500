from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.accounts.commands import command_user
from pipelines_admin.core.commands import EXIT_REFUSED, VersionOption, command_error, problem_lines
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import pipeline_release
from pipelines_admin.testcases.gate import GateClosed


class Command(VersionOption, BaseCommand):
    help = (
        "Release a pipeline's version (the latest by default) to an environment, keeping the environment's "
        "override, with the console's checks: the role, a reason for a protected environment, the release "
        "gate. Exit 0: released, or the environment runs that version already; 1: refused (role, gate closed); "
        "2: no such pipeline, version, environment or user, no reason for a protected environment, an invalid "
        "effective config."
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
            help="release without a passing test suite (publishers; the reason is recorded)",
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
            )
        except GateClosed as exc:
            self.stderr.write(exc.message)
            raise CommandError(
                f"Nothing was released. Run the test cases on this config (manage.py test_pipeline "
                f"{options['pipeline']} --env {options['env']} --config-version {exc.extra['version']}) and release "
                "again, or release anyway with --gate-override and a --reason.",
                returncode=EXIT_REFUSED,
            ) from None
        except ServiceError as exc:
            for line in problem_lines(exc.extra):
                self.stderr.write(line)
            raise command_error(exc) from None
        release = released.release
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
