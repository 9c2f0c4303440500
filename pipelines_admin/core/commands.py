"""What the management commands share: how service errors become exit codes and how
problems are printed (who acts: accounts.commands).

Exit codes of the config-as-code commands: 0 done (or nothing to do); 1 refused (the
role does not allow it, the release gate is closed, someone saved a version in
between); 2 invalid input (a file with problems, a name that does not exist, a bad
argument); 3 pending approval (release_pipeline, apply_pipelines: the environment is
under change control, or the gate override was asked, so a change request was opened
and nothing changed there yet). plan_pipelines has its own (0 nothing to change, 1
cannot plan, 2 changes).
"""

from __future__ import annotations

from django.core.management.base import CommandError

from pipelines_admin.core.errors import InvalidInput, NotFound, ServiceError

EXIT_REFUSED = 1
EXIT_INVALID = 2
EXIT_PENDING = 3


def opened_line(change_request) -> str:
    """What a command prints when it opened a change request instead of changing."""
    count = change_request.environment.approvals_required
    return (
        f"Change request #{change_request.pk} opened for {change_request.environment.name}: needs {count} "
        f"approval{'s' if count != 1 else ''} \u2014 {change_request.title}"
    )


def command_error(exc: ServiceError) -> CommandError:
    """2 for invalid input and names that do not exist, 1 for refusals (role, gate, conflict)."""
    code = EXIT_INVALID if isinstance(exc, (InvalidInput, NotFound)) else EXIT_REFUSED
    return CommandError(exc.message, returncode=code)


def problem_lines(extra) -> list[str]:
    """Each problem of an error's extra, one line each: "  /json/pointer: message"
    ("(config)" for the whole document), and each invalid field."""
    if not isinstance(extra, dict):
        return []
    lines = [f"  {p['path'] or '(config)'}: {p['message']}" for p in extra.get("problems", [])]
    for name, messages in (extra.get("fields") or {}).items():
        lines.extend(f"  {name}: {message}" for message in messages)
    return lines


class VersionOption:
    """A mixin for commands taking --version N (a config version): Django's own
    --version, which prints Django's version, gives way to it."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)
