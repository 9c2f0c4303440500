import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.configs.selectors import environment_get, pipeline_get, version_get
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.impact.selectors import impact_summary
from pipelines_admin.impact.services import impact_run_now


def _ms(value) -> str:
    return "-" if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = (
        "Replay the latest N finished runs of a pipeline in an environment against its live config and a "
        "candidate (a version, an override, or both), in this process, and print what would change. "
        "Exit 0 when the analysis ran; 2 when it could not."
    )

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help="the pipeline's slug")
        parser.add_argument(
            "--env", required=True, help="the environment whose live config and past runs are used"
        )
        parser.add_argument(
            "--candidate-version", type=int, help="the version to compare (default: the live one)"
        )
        parser.add_argument(
            "--override",
            type=Path,
            help="a JSON file holding the candidate's override (default: the environment's)",
        )
        parser.add_argument("--last", type=int, default=10_000, help="how many of the latest runs to replay")
        parser.add_argument("--user", default="admin", help="who runs it (needs the editor role)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.", returncode=2)
        override = None
        if options["override"]:
            try:
                override = json.loads(options["override"].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(
                    f"Cannot read the override {options['override']}: {exc}", returncode=2
                ) from None
        if options["candidate_version"] is None and override is None:
            raise CommandError(
                "Say what to compare: --candidate-version N, --override FILE, or both.", returncode=2
            )
        try:
            pipeline = pipeline_get(options["pipeline"])
            version = (
                version_get(pipeline, options["candidate_version"]) if options["candidate_version"] else None
            )
            report = impact_run_now(
                pipeline=pipeline,
                environment=environment_get(options["env"]),
                actor=user,
                version=version,
                override=override,
                last=options["last"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message, returncode=2) from None
        summary = impact_summary(report)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "impact_report": report.pk,
                        "status": report.status,
                        "candidate": report.candidate_label,
                        "candidate_hash": report.candidate_hash,
                        "baseline_hash": report.baseline_hash,
                        "replayed": summary.replayed,
                        "unchanged": summary.unchanged,
                        "flips": summary.flips,
                        "skipped": summary.skipped,
                        "decisions": {
                            before: dict(zip(summary.statuses, row, strict=True))
                            for before, row in summary.decisions
                        },
                        "rules": {
                            r.key: {"before": r.before, "after": r.after, "changed": r.changed}
                            for r in summary.rules
                        },
                        "latency_ms": summary.latency,
                    },
                    indent=2,
                )
            )
            return
        self.stdout.write(
            f"impact report #{report.pk}: {report.candidate_label} against what is live in "
            f"{report.environment.name} (v{report.baseline_release.version.number})"
        )
        self.stdout.write(
            f"replayed {summary.replayed} applications: {summary.flips['to_fail']} would no longer pass, "
            f"{summary.flips['to_pass']} would now pass, {summary.flips['other']} change between "
            f"failed, review, undecided and error, {summary.unchanged} unchanged; "
            f"{summary.flips['to_review']} would now go to review, "
            f"{summary.flips['from_review']} would no longer"
        )
        changed = [r for r in summary.rules if r.changed]
        for rule in changed[:20]:
            pairs = ", ".join(f"{o} {b}->{a}" for o, b, a in rule.pairs())
            self.stdout.write(f"  {rule.key}: {rule.changed} changed ({pairs})")
        if len(changed) > 20:
            self.stdout.write(f"  ... and {len(changed) - 20} more rules")
        for side in ("before", "after"):
            lat = summary.latency[side]
            self.stdout.write(
                f"latency {side}: mean {_ms(lat['mean'])} ms, p50 {_ms(lat['p50'])}, "
                f"p95 {_ms(lat['p95'])}, p99 {_ms(lat['p99'])}"
            )
