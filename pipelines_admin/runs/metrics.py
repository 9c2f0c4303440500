"""Metric rollups: counts per outcome and fixed-bucket latency histograms per pipeline,
environment, stage, rule and time bucket, at three grains (five minutes, an hour, a
day), written in the same transaction as the runs they count, with their all-time
totals (MetricTotal, what /metrics reads). Percentiles come from the histograms, never
from raw runs. Also the sweep's recovery counters."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Q

from pipelines_admin.runs.models import (
    BUCKETS,
    COUNT_COLUMNS,
    COUNTED,
    LATENCY_BOUNDS_MS,
    LATENCY_COLUMNS,
    SLOW,
    UNKNOWN,
    MetricRollup,
    MetricTotal,
    SweepRecovery,
)

Grain = MetricRollup.Grain
#: the grains rollups are written at, finest first
GRAINS = (Grain.FIVE_MINUTES, Grain.HOUR, Grain.DAY)
BUCKET_SECONDS = int(Grain.FIVE_MINUTES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(when: datetime, grain: int = BUCKET_SECONDS) -> datetime:
    """The start of the bucket of `grain` seconds (five minutes by default) `when` falls
    in; buckets are aligned on the Unix epoch, so a day starts at midnight UTC."""
    since_epoch = when - _EPOCH
    return when - since_epoch % timedelta(seconds=grain)


def latency_bucket(ms: float) -> int:
    return bisect.bisect_left(LATENCY_BOUNDS_MS, ms)


def quantile(histogram: list[int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram, interpolated inside its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
            high = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else LATENCY_BOUNDS_MS[-1] * 2
            return low + (high - low) * ((rank - seen) / count)
        seen += count
    return LATENCY_BOUNDS_MS[-1] * 2


def merge_histograms(a: list[int], b: list[int]) -> list[int]:
    a = a or [0] * BUCKETS
    b = b or [0] * BUCKETS
    return [x + y for x, y in zip(a, b, strict=True)]


@dataclass
class _Cell:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    total: int = 0
    sum_ms: float = 0.0

    def add(self, outcome: str, ms: float | None, times: int = 1) -> None:
        self.counts[outcome] += times
        self.total += times
        if ms is not None:
            self.histogram[latency_bucket(ms)] += times
            self.sum_ms += ms * times

    def merge(self, other: _Cell) -> None:
        for outcome, n in other.counts.items():
            self.counts[outcome] += n
        self.histogram = merge_histograms(self.histogram, other.histogram)
        self.total += other.total
        self.sum_ms += other.sum_ms

    def columns(self) -> list:
        """total, sum_ms, then the count and latency columns (as in _ROLLUP_VALUES)."""
        counts = dict.fromkeys(COUNTED, 0)
        for outcome, n in self.counts.items():
            counts[outcome if outcome in counts else UNKNOWN] += n
        return [self.total, self.sum_ms, *counts.values(), *self.histogram]

    def add_to(self, row: MetricTotal) -> None:
        """Add this cell to a MetricTotal row (not saved)."""
        counts = dict(row.counts)
        for outcome, n in self.counts.items():
            counts[outcome] = counts.get(outcome, 0) + n
        row.counts = counts
        row.histogram = merge_histograms(row.histogram, self.histogram)
        row.total += self.total
        row.sum_ms += self.sum_ms


#: MetricRollup's key columns (its unique constraint), in key order
_ROLLUP_KEY = ("pipeline_id", "environment_id", "grain", "bucket_start", "stage", "rule")
#: the columns a flush adds to
_ROLLUP_VALUES = ("total", "sum_ms", *COUNT_COLUMNS, *LATENCY_COLUMNS)


def _rollups_add(grain: int, cells: dict[tuple, _Cell]) -> None:
    """Add `cells` ((pipeline, environment, bucket start, stage, rule) -> cell) to the
    rollup rows of `grain`, creating the missing ones: set-based, one
    INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x per batch of rows, the rows
    in key order (SQLite and PostgreSQL)."""
    meta = MetricRollup._meta
    fields = [meta.get_field(name) for name in (*_ROLLUP_KEY, *_ROLLUP_VALUES)]
    table = connection.ops.quote_name(meta.db_table)
    columns = [connection.ops.quote_name(f.get_attname_column()[1]) for f in fields if isinstance(f, Field)]
    key_columns = columns[: len(_ROLLUP_KEY)]
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in columns[len(_ROLLUP_KEY) :])
    keys = sorted(cells, key=lambda k: (k[0], k[1], k[2], k[3], k[4]))
    bucket_field = meta.get_field("bucket_start")
    rows = [
        [
            pipeline_id,
            environment_id,
            grain,
            bucket_field.get_db_prep_value(start, connection),
            stage,
            rule,
            *cells[(pipeline_id, environment_id, start, stage, rule)].columns(),
        ]
        for pipeline_id, environment_id, start, stage, rule in keys
    ]
    size = min(connection.ops.bulk_batch_size(fields, rows), 500)
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), size):
            batch = rows[offset : offset + size]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row_sql] * len(batch))} "  # noqa: S608 - names from the model, values as parameters
                f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}",
                [value for row in batch for value in row],
            )


class RollupAccumulator:
    """Collects the metrics of many runs in memory, then writes them: for each grain
    (finest first) one set-based upsert of its rollup rows in key order, then the total
    rows created if missing, locked in key order and updated at once, so concurrent
    writers never deadlock."""

    def __init__(self) -> None:
        self._cells: dict[tuple, _Cell] = defaultdict(_Cell)

    def add_run(
        self,
        *,
        pipeline_id: int,
        environment_id: int,
        finished_at: datetime,
        status: str,
        result: dict | None,
        duration_ms: float | None,
        times: int = 1,
    ) -> None:
        """Count a finished run (`times` runs alike, counted as that many)."""
        bucket = bucket_start(finished_at)
        self._cells[(pipeline_id, environment_id, bucket, "", "")].add(status, duration_ms, times)
        for stage in (result or {}).get("stages", []):
            name = stage.get("name", "")
            self._cells[(pipeline_id, environment_id, bucket, name, "")].add(
                stage.get("status", UNKNOWN), stage.get("duration_ms"), times
            )
            for rule in stage.get("rules", []):
                cell = self._cells[(pipeline_id, environment_id, bucket, name, rule.get("id", ""))]
                cell.add(
                    rule.get("outcome", UNKNOWN),
                    rule.get("duration_ms") if rule.get("outcome") not in ("skip",) else None,
                    times,
                )
                if rule.get("slow"):
                    cell.counts[SLOW] += times

    def flush(self) -> int:
        """Write everything collected (call inside the runs' transaction); returns the
        five-minute rollup rows touched."""
        by_grain: dict[int, dict[tuple, _Cell]] = {int(grain): defaultdict(_Cell) for grain in GRAINS}
        totals: dict[tuple, _Cell] = defaultdict(_Cell)
        for (pipeline_id, environment_id, bucket, stage, rule), cell in self._cells.items():
            for grain in GRAINS:
                start = bucket if grain == BUCKET_SECONDS else bucket_start(bucket, grain)
                by_grain[grain][(pipeline_id, environment_id, start, stage, rule)].merge(cell)
            totals[(pipeline_id, environment_id, stage, rule)].merge(cell)
        for grain_seconds, cells in by_grain.items():
            _rollups_add(grain_seconds, cells)
        _totals_add(totals)
        touched = len(self._cells)
        self._cells.clear()
        return touched


def _totals_add(cells: dict[tuple, _Cell]) -> None:
    """Add `cells` ((pipeline, environment, stage, rule) -> cell) to the MetricTotal rows,
    in three statements however many rows: the missing rows created empty (in key order,
    ON CONFLICT DO NOTHING), all of them locked in key order, then updated at once."""
    if not cells:
        return
    keys = sorted(cells)
    MetricTotal.objects.bulk_create(
        [
            MetricTotal(
                pipeline_id=pipeline_id,
                environment_id=environment_id,
                stage=stage,
                rule=rule,
                counts={},
                histogram=[0] * BUCKETS,
            )
            for pipeline_id, environment_id, stage, rule in keys
        ],
        ignore_conflicts=True,
    )
    wanted = Q()
    for pipeline_id, environment_id, stage, rule in keys:
        wanted |= Q(pipeline_id=pipeline_id, environment_id=environment_id, stage=stage, rule=rule)
    rows = list(
        MetricTotal.objects.select_for_update()
        .filter(wanted)
        .order_by("pipeline_id", "environment_id", "stage", "rule")
    )
    for row in rows:
        cells[(row.pipeline_id, row.environment_id, row.stage, row.rule)].add_to(row)
    MetricTotal.objects.bulk_update(rows, ["counts", "histogram", "total", "sum_ms"])


def recovery_count(kind: str, action: str, n: int = 1) -> None:
    """Add n to the sweep's recovery counter of `kind` and `action` (SweepRecovery); call
    it inside the transaction that records the recovery, so both commit or neither."""
    if n <= 0:
        return
    with transaction.atomic():
        if SweepRecovery.objects.filter(kind=kind, action=action).update(count=F("count") + n):
            return
        try:
            with transaction.atomic():
                SweepRecovery.objects.create(kind=kind, action=action, count=n)
        except IntegrityError:  # another transaction created it meanwhile
            SweepRecovery.objects.filter(kind=kind, action=action).update(count=F("count") + n)
