from django.db import migrations


def create_reviewer(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="reviewer")


def remove_reviewer(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="reviewer").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_roles")]
    operations = [migrations.RunPython(create_reviewer, remove_reviewer)]
