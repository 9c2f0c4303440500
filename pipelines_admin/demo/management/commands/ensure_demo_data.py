from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from pipelines_admin.demo.pipelines import demo_pipelines_ensure


class Command(BaseCommand):
    help = "Create the demo users and demo pipelines that do not exist yet (safe to run again)."

    def handle(self, *args, **options):
        call_command("ensure_demo_users", stdout=self.stdout)
        admin = get_user_model().objects.filter(username="admin", is_superuser=True).first()
        if admin is None:
            self.stdout.write("No demo admin user: demo pipelines not created.")
            return
        created = demo_pipelines_ensure(actor=admin)
        if created:
            for pipeline in created:
                self.stdout.write(self.style.SUCCESS(f"Demo pipeline {pipeline.slug} created and released."))
        else:
            self.stdout.write("Demo pipelines already exist; nothing changed.")
