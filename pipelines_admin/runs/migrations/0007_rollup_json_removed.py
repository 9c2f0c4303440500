from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0006_rollup_grains"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="metricrollup",
            name="counts",
        ),
        migrations.RemoveField(
            model_name="metricrollup",
            name="histogram",
        ),
    ]
