"""Model fields."""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class OrderedJSONField(models.TextField):
    """JSON kept as text, so the order of keys survives on every database.

    PostgreSQL's jsonb reorders object keys, and in a pipeline document order is
    meaning: stages run in document order. Documents are stored and read whole, never
    queried inside, so text loses nothing.
    """

    description = "JSON, key order preserved"
    # what the Django plugin of mypy takes it to set and get: any JSON value, not text
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))


class RowJSONField(models.JSONField):
    """A JSONField that makes PostgreSQL's bulk inserts list its rows as VALUES.

    Django inserts many rows on PostgreSQL as UNNEST of one array per column, unless a
    field has `get_placeholder`. An array of large JSON documents is sent as one array
    literal, and psycopg escapes every double quote of every document with a regular
    expression in Python: a quarter to half a millisecond of CPU per run result. As
    VALUES, each document is sent as a parameter of its own, unescaped. The column and
    what is stored are those of a JSONField.
    """

    def get_placeholder(self, value, compiler, connection):
        return "%s"
