import pytest
from django.db import connection

from pipelines_admin.runs.models import Run

pytestmark = pytest.mark.django_db


def test_run_indexes__none_the_first_columns_of_another():
    """Each batch chunk writes every index of its runs: one whose columns begin another
    serves no look-up the longer one does not, and only costs the writes."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Run._meta.db_table)
    indexes = {
        name: tuple(c["columns"])
        for name, c in constraints.items()
        if c["index"] and not c["primary_key"] and not c["unique"]
    }
    covered = {
        name: other
        for name, columns in indexes.items()
        for other, longer in indexes.items()
        if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
    }
    assert covered == {}
