from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import folder_plan, plan_lines

EXIT_NOTHING, EXIT_CANNOT_PLAN, EXIT_CHANGES = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Compare a folder of pipeline files (one per pipeline, named by its slug: customer-onboarding.yaml, "
        ".yml or .json) with the database and print what apply_pipelines would do: each pipeline new, changed "
        "(with the changes), unchanged or invalid (every problem), and the pipelines that have no file (never "
        "deleted). Writes nothing. Exit 0: nothing would change; 1: a file is invalid or the folder cannot be "
        "read; 2: something would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="the folder holding the pipeline files")

    def handle(self, *args, **options):
        try:
            plan = folder_plan(options["folder"])
        except ServiceError as exc:
            raise CommandError(exc.message, returncode=EXIT_CANNOT_PLAN) from None
        for line in plan_lines(plan):
            self.stdout.write(line)
        if plan.invalid:
            count = len(plan.invalid)
            raise CommandError(
                f"{count} file{'s are' if count != 1 else ' is'} invalid: fix "
                f"{'them' if count != 1 else 'it'} before applying.",
                returncode=EXIT_CANNOT_PLAN,
            )
        if plan.pending:
            raise SystemExit(EXIT_CHANGES)  # not an error: the plan above says what would change
