from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.accounts.commands import command_user
from pipelines_admin.core.commands import EXIT_INVALID, command_error, problem_lines
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import NEW, UNCHANGED, document_read, pipeline_import


class Command(BaseCommand):
    help = (
        "Save a pipeline file (.yaml, .yml or .json) as the pipeline's next version, or as a new pipeline. "
        "Nothing is saved when the content is the same as the latest version's. Exit 0: saved or unchanged; "
        "1: refused (role, a version saved in between); 2: an invalid file (every problem printed, nothing "
        "stored), an unknown user."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the pipeline's config, YAML or JSON by its extension")
        parser.add_argument(
            "--pipeline", required=True, help="the pipeline's slug (created when it does not exist)"
        )
        parser.add_argument("--message", default="", help="what changed (default: 'Imported from FILE')")
        parser.add_argument(
            "--name", default="", help="a new pipeline's name (default: the file's name entry, else the slug)"
        )
        parser.add_argument(
            "--user", help="who saves it (needs the editor role; default: the only superuser)"
        )

    def handle(self, *args, **options):
        user = command_user(options["user"])
        path: Path = options["file"]
        document, problems = document_read(path)
        if problems:
            self._problems(
                f"{path} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:",
                {"problems": problems},
            )
            raise CommandError(f"{path} is not valid: nothing was stored.", returncode=EXIT_INVALID)
        try:
            imported = pipeline_import(
                slug=options["pipeline"],
                document=document,
                author=user,
                message=options["message"] or f"Imported from {path.name}",
                name=options["name"],
            )
        except ServiceError as exc:
            self._problems(exc.message, exc.extra)
            raise command_error(exc) from None
        slug, number = imported.pipeline.slug, imported.version.number
        if imported.outcome == UNCHANGED:
            self.stdout.write(f"{slug}: unchanged, still v{number} ({imported.version.content_hash})")
        elif imported.outcome == NEW:
            self.stdout.write(f"{slug}: created, v{number} ({imported.version.content_hash})")
        else:
            self.stdout.write(
                f"{slug}: v{number} saved on top of v{imported.previous} ({imported.version.content_hash})"
            )

    def _problems(self, heading: str, extra) -> None:
        lines = problem_lines(extra)
        if lines:
            self.stderr.write(heading)
            for line in lines:
                self.stderr.write(line)
