"""Metric rollups: counts per outcome and fixed-bucket latency histograms per pipeline,
environment, stage, rule and five-minute bucket, written in the same transaction as
the runs they count, with their all-time totals (MetricTotal, what /metrics reads).
Percentiles come from the histograms, never from raw runs. Also the sweep's recovery
counters."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from pipelines_admin.runs.models import MetricRollup, MetricTotal, SweepRecovery

#: upper bounds (ms) of the latency buckets; the last bucket is everything above
LATENCY_BOUNDS_MS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
BUCKET_SECONDS = 300
#: besides the outcomes, a rule's counts hold how many of its runs it was flagged slow in
#: (performance_monitoring.slow_rule_threshold_ms); not an outcome, so not in its total
SLOW = "slow"


def bucket_start(when: datetime) -> datetime:
    """The start of the five-minute bucket `when` falls in."""
    return when.replace(second=0, microsecond=0) - timedelta(minutes=when.minute % (BUCKET_SECONDS // 60))


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

    def add(self, outcome: str, ms: float | None) -> None:
        self.counts[outcome] += 1
        self.total += 1
        if ms is not None:
            self.histogram[latency_bucket(ms)] += 1
            self.sum_ms += ms

    def merge(self, other: _Cell) -> None:
        for outcome, n in other.counts.items():
            self.counts[outcome] += n
        self.histogram = merge_histograms(self.histogram, other.histogram)
        self.total += other.total
        self.sum_ms += other.sum_ms

    def write_to(self, model, **key) -> None:
        """Add this cell to the row of `model` with `key` (created empty if missing), locked."""
        row, _ = model.objects.select_for_update().get_or_create(
            **key, defaults={"counts": {}, "histogram": [0] * BUCKETS}
        )
        counts = dict(row.counts)
        for outcome, n in self.counts.items():
            counts[outcome] = counts.get(outcome, 0) + n
        row.counts = counts
        row.histogram = merge_histograms(row.histogram, self.histogram)
        row.total += self.total
        row.sum_ms += self.sum_ms
        row.save(update_fields=["counts", "histogram", "total", "sum_ms"])


class RollupAccumulator:
    """Collects the metrics of many runs in memory, then writes them with one locked
    read-modify-write per rollup row and per total row (the rollup rows in key order,
    then the total rows in key order, so concurrent writers never deadlock)."""

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
    ) -> None:
        bucket = bucket_start(finished_at)
        self._cells[(pipeline_id, environment_id, bucket, "", "")].add(status, duration_ms)
        for stage in (result or {}).get("stages", []):
            name = stage.get("name", "")
            self._cells[(pipeline_id, environment_id, bucket, name, "")].add(
                stage.get("status", "unknown"), stage.get("duration_ms")
            )
            for rule in stage.get("rules", []):
                cell = self._cells[(pipeline_id, environment_id, bucket, name, rule.get("id", ""))]
                cell.add(
                    rule.get("outcome", "unknown"),
                    rule.get("duration_ms") if rule.get("outcome") not in ("skip",) else None,
                )
                if rule.get("slow"):
                    cell.counts[SLOW] += 1

    def flush(self) -> int:
        """Write everything collected (call inside the runs' transaction); returns rollup rows touched."""
        keys = sorted(self._cells, key=lambda k: (k[0], k[1], k[2].isoformat(), k[3], k[4]))
        totals: dict[tuple, _Cell] = defaultdict(_Cell)
        for key in keys:
            pipeline_id, environment_id, bucket, stage, rule = key
            cell = self._cells[key]
            cell.write_to(
                MetricRollup,
                pipeline_id=pipeline_id,
                environment_id=environment_id,
                bucket_start=bucket,
                stage=stage,
                rule=rule,
            )
            totals[(pipeline_id, environment_id, stage, rule)].merge(cell)
        for key in sorted(totals):
            pipeline_id, environment_id, stage, rule = key
            totals[key].write_to(
                MetricTotal, pipeline_id=pipeline_id, environment_id=environment_id, stage=stage, rule=rule
            )
        self._cells.clear()
        return len(keys)


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
