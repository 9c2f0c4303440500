from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.accounts.commands import command_user
from pipelines_admin.changes.services import change_submit
from pipelines_admin.core.commands import (
    EXIT_INVALID,
    EXIT_PENDING,
    command_error,
    opened_line,
    problem_lines,
)
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.releases.as_code import CHANGED, NEW, UNCHANGED, FolderInvalid, folder_apply, plan_lines


class Command(BaseCommand):
    help = (
        "Save each new or changed pipeline file of a folder (see plan_pipelines) as a new version, and with "
        "--release ENV release each of them there through the release gate. All or nothing: when a file is "
        "invalid, or a save or release is refused, nothing is stored. Pipelines without a file are left "
        "alone. On an environment under change control, or with --gate-override, the versions are saved and a "
        "change request is opened for each release instead (other publishers approve it). Exit 0: applied (or "
        "nothing to apply); 1: refused (role, release gate, a version saved in between); 2: an invalid file or "
        "folder, an unknown environment or user; 3: pending approval (versions saved, change requests opened)."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="the folder holding the pipeline files")
        parser.add_argument(
            "--message", default="", help="the versions' message (default: 'Applied from FILE')"
        )
        parser.add_argument("--release", metavar="ENV", help="release each new or changed pipeline to ENV")
        parser.add_argument(
            "--reason", default="", help="why (required to release to a protected environment)"
        )
        parser.add_argument(
            "--gate-override",
            action="store_true",
            help="ask to release without a passing test suite: opens a change request for each release, "
            "which another publisher approves (exit 3)",
        )
        parser.add_argument(
            "--user",
            help="who applies it (editor; publisher to release to a protected "
            "environment; default: the only superuser)",
        )

    def handle(self, *args, **options):
        user = command_user(options["user"])
        try:
            done = folder_apply(
                folder=options["folder"],
                author=user,
                message=options["message"],
                release_to=options["release"],
                reason=options["reason"],
                gate_override=options["gate_override"],
                submit=change_submit,
            )
        except FolderInvalid as exc:
            for line in plan_lines(exc.plan):
                self.stderr.write(line)
            raise CommandError(exc.message, returncode=EXIT_INVALID) from None
        except ServiceError as exc:
            for line in problem_lines(exc.extra):
                self.stderr.write(line)
            raise CommandError(
                f"{exc.message} Nothing was stored.", returncode=command_error(exc).returncode
            ) from None
        for item in done.applied:
            entry = item.entry
            if entry.status == NEW:
                line = f"{entry.slug}: created, v{item.version.number}"
            elif entry.status == CHANGED:
                line = f"{entry.slug}: v{item.version.number} saved on top of v{entry.latest}"
            elif entry.status == UNCHANGED:
                line = f"{entry.slug}: unchanged, still v{entry.latest}"
            else:
                line = f"{entry.slug}: not in the folder, left alone (v{entry.latest})"
            if item.release is not None:
                line += f"; released to {done.environment.name} (release #{item.release.pk})"
            self.stdout.write(line)
            if item.change_request is not None:
                self.stdout.write(opened_line(item.change_request))
        made = sum(1 for item in done.applied if item.version is not None)
        released = sum(1 for item in done.applied if item.release is not None)
        self.stdout.write(
            f"Applied: {made} version{'s' if made != 1 else ''} saved"
            + (f", {released} released to {done.environment.name}." if done.environment else ".")
        )
        if any(item.change_request is not None for item in done.applied):
            raise SystemExit(EXIT_PENDING)  # saved; the releases wait for approval
