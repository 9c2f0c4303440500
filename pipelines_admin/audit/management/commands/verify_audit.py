from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.audit.services import audit_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; exits non-zero when any event was edited or removed."

    def handle(self, *args, **options):
        checked, problems = audit_verify()
        if problems:
            for p in problems:
                self.stderr.write(f"event {p.sequence}: {p.message}")
            raise CommandError(f"audit trail tampered: {len(problems)} problem(s) in {checked} events")
        self.stdout.write(self.style.SUCCESS(f"audit trail intact: {checked} events verified"))
