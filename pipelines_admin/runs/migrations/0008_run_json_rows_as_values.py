from django.db import migrations

import pipelines_admin.core.fields


class Migration(migrations.Migration):
    """Run.input_masked and Run.result become core.fields.RowJSONField: the same column,
    so nothing changes in the database (SQLite would otherwise copy the whole table)."""

    dependencies = [
        ("runs", "0007_rollup_json_removed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="input_masked",
                    field=pipelines_admin.core.fields.RowJSONField(default=dict),
                ),
                migrations.AlterField(
                    model_name="run",
                    name="result",
                    field=pipelines_admin.core.fields.RowJSONField(blank=True, null=True),
                ),
            ],
            database_operations=[],
        ),
    ]
