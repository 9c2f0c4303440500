from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.core.commands import EXIT_INVALID, VersionOption, command_error
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import FORMATS, document_text, format_for, pipeline_export


class Command(VersionOption, BaseCommand):
    help = (
        "Print or write a pipeline's config as YAML or JSON, in its own key order: the latest version, "
        "one version, or what an environment runs (its version with its override). import_pipeline reads "
        "it back to the same content hash. Exit 0: exported; 2: no such pipeline, version or environment, "
        "or never released there."
    )

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help="the pipeline's slug")
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--version",
            "--config-version",
            type=int,
            dest="config_version",
            help="this version (default: the latest)",
        )
        which.add_argument("--env", help="the effective config this environment runs")
        parser.add_argument(
            "--format", choices=FORMATS, help="yaml or json (default: the output file's extension, else yaml)"
        )
        parser.add_argument("--output", type=Path, help="write to this file instead of printing")

    def handle(self, *args, **options):
        output: Path | None = options["output"]
        try:
            fmt = format_for(output, options["format"])
            exported = pipeline_export(
                slug=options["pipeline"], version=options["config_version"], environment=options["env"]
            )
        except ServiceError as exc:
            raise command_error(exc) from None
        text = document_text(exported.document, fmt)
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                f"Cannot write {output}: {exc.strerror or exc}.", returncode=EXIT_INVALID
            ) from None
        self.stdout.write(f"{exported.label} written to {output}")
