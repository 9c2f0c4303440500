from django.core.management.base import BaseCommand

from pipelines_admin.demo.users import DEMO_USERS, demo_users_ensure

#: the width of the username column: the longest demo username
USERNAME_WIDTH = max(len(demo.username) for demo in DEMO_USERS)
#: the width of the password column: a generated password, or where it came from
PASSWORD_WIDTH = len("(from the environment)")


class Command(BaseCommand):
    help = (
        "Create the demo users (admin, editor, viewer, reviewer, reviewer2) that do not exist yet; "
        "prints new passwords once."
    )

    def handle(self, *args, **options):
        created = demo_users_ensure()
        if not created:
            self.stdout.write("Demo users already exist; nothing changed.")
            return
        roles = {demo.username: demo.role_text for demo in DEMO_USERS}
        self.stdout.write(self.style.SUCCESS("Demo users created (shown once, keep them):"))
        for username, password, from_env in created:
            shown = "(from the environment)" if from_env else password
            self.stdout.write(f"  {username:{USERNAME_WIDTH}s} {shown:{PASSWORD_WIDTH}s} {roles[username]}")
