from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.models.sql import InsertQuery

from pipelines_admin.runs.models import Run

#: a PostgreSQL connection that only compiles SQL (it never connects)
POSTGRESQL = DatabaseWrapper(
    {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "compile-only",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
    },
    alias="compile-only",
)


def test_run_bulk_insert__postgresql__rows_as_values_each_json_document_a_parameter():
    """Not UNNEST of arrays: psycopg would escape every quote of every result in Python."""
    result = {"stages": [{"name": "identity", "rules": [{"id": "name", "message": 'said "hi"'}]}]}
    runs = [
        Run(
            pipeline_id=1,
            environment_id=1,
            config_version_id=1,
            input_encrypted="x",
            input_masked={"name": "M***"},
            result=result,
        )
        for _ in range(3)
    ]
    query = InsertQuery(Run)
    query.insert_values(Run._meta.concrete_fields, runs)
    [(sql, params)] = query.get_compiler(connection=POSTGRESQL).as_sql()
    assert "UNNEST" not in sql
    assert sql.count("(%s, ") == 3
    assert len(params) == 3 * len(Run._meta.concrete_fields)
