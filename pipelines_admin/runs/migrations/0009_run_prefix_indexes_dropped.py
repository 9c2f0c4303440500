from django.db import migrations, models

#: each the first column of one of Run's Meta.indexes, which serves the same look-ups
DROPPED = {
    "runs_run_pipeline_id_0b892d0f": "pipeline_id",  # run_pipeline_recent_idx
    "runs_run_status_7f93e232": "status",  # run_status_idx
    "runs_run_batch_id_9ef9369c": "batch_id",  # run_batch_line_idx
}


class Migration(migrations.Migration):
    """The single-column indexes of Run.pipeline, Run.status and Run.batch dropped: each
    is the first column of a composite index. Dropped by name, so that SQLite does not
    copy the whole table (the varchar_pattern_ops twin PostgreSQL gave status too)."""

    dependencies = [
        ("runs", "0008_run_json_rows_as_values"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="batch",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.CASCADE,
                        related_name="runs",
                        to="runs.batch",
                    ),
                ),
                migrations.AlterField(
                    model_name="run",
                    name="pipeline",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="runs",
                        to="configs.pipeline",
                    ),
                ),
                migrations.AlterField(
                    model_name="run",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("passed", "Passed"),
                            ("failed", "Failed"),
                            ("undecided", "Undecided"),
                            ("error", "Error"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        *(f'DROP INDEX IF EXISTS "{name}"' for name in DROPPED),
                        'DROP INDEX IF EXISTS "runs_run_status_7f93e232_like"',
                    ],
                    reverse_sql=[
                        f'CREATE INDEX IF NOT EXISTS "{name}" ON "runs_run" ("{column}")'
                        for name, column in DROPPED.items()
                    ],
                ),
            ],
        ),
    ]
