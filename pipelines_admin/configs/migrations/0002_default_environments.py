from django.db import migrations

from pipelines_admin.configs.defaults import ensure_default_environments


def create(apps, schema_editor):
    ensure_default_environments(apps.get_model("configs", "Environment"))


class Migration(migrations.Migration):
    dependencies = [("configs", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
