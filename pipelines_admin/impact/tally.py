"""The figures of an impact report, as plain JSON that chunks add up.

    {"replayed": n, "unchanged": n,
     "flips": {"to_fail": n, "to_pass": n, "other": n, "to_review": n, "from_review": n},
     "decisions": {"passed": {"failed": n, ...}, ...},          # before -> after -> count
     "rules": {"stage/rule": {"before": {"pass": n, ...}, "after": {...}, "changed": n}},
     "latency": {"before": {"histogram": [...], "sum_ms": x}, "after": {...}}}

to_fail, to_pass and other split the flipped applications between them (an approval
lost, an approval gained, a change between the other decisions); to_review and
from_review count again those that would now be referred to a person, and those that
were and would no longer be.

Latency histograms use the dashboards' buckets (runs.metrics), so percentiles of a
merged report are as good as those of one chunk.
"""

from __future__ import annotations

from pipelines_admin.runs.metrics import BUCKETS, latency_bucket, merge_histograms, quantile

PASSED = "passed"
REVIEW = "review"
#: the flip directions that split the flipped applications between them
DIRECTIONS = ("to_fail", "to_pass", "other")
#: the flips into and out of review, counted besides their direction
REVIEW_FLIPS = ("to_review", "from_review")


def empty() -> dict:
    return {
        "replayed": 0,
        "unchanged": 0,
        "flips": dict.fromkeys((*DIRECTIONS, *REVIEW_FLIPS), 0),
        "decisions": {},
        "rules": {},
        "latency": {side: {"histogram": [0] * BUCKETS, "sum_ms": 0.0} for side in ("before", "after")},
    }


def flip_direction(before: str, after: str) -> str | None:
    """ "to_fail" (an approval lost), "to_pass" (an approval gained), "other" (between
    failed, review, undecided and error) or None when the decision stands."""
    if before == after:
        return None
    if before == PASSED:
        return "to_fail"
    if after == PASSED:
        return "to_pass"
    return "other"


def review_flip(before: str, after: str) -> str | None:
    """ "to_review" (now referred to a person), "from_review" (no longer referred) or None
    when review is on neither side, or on both."""
    if before == after:
        return None
    if after == REVIEW:
        return "to_review"
    if before == REVIEW:
        return "from_review"
    return None


def _rule_outcomes(result: dict | None) -> dict[str, str]:
    return {
        f"{stage['name']}/{rule['id']}": rule["outcome"]
        for stage in (result or {}).get("stages", [])
        for rule in stage.get("rules", [])
    }


class ImpactTally:
    def __init__(self, data: dict | None = None):
        self.data = data if data else empty()

    def add(
        self,
        before_status: str,
        before_result: dict | None,
        before_ms: float,
        after_status: str,
        after_result: dict | None,
        after_ms: float,
    ) -> str | None:
        """Count one replayed application; returns its flip direction (None: unchanged)."""
        d = self.data
        d["replayed"] += 1
        row = d["decisions"].setdefault(before_status, {})
        row[after_status] = row.get(after_status, 0) + 1
        direction = flip_direction(before_status, after_status)
        if direction is None:
            d["unchanged"] += 1
        else:
            d["flips"][direction] += 1
            review = review_flip(before_status, after_status)
            if review is not None:
                d["flips"][review] = d["flips"].get(review, 0) + 1
        before, after = _rule_outcomes(before_result), _rule_outcomes(after_result)
        for key in before.keys() | after.keys():
            entry = d["rules"].setdefault(key, {"before": {}, "after": {}, "changed": 0})
            if key in before:
                entry["before"][before[key]] = entry["before"].get(before[key], 0) + 1
            if key in after:
                entry["after"][after[key]] = entry["after"].get(after[key], 0) + 1
            if before.get(key) != after.get(key):
                entry["changed"] += 1
        for side, ms in (("before", before_ms), ("after", after_ms)):
            d["latency"][side]["histogram"][latency_bucket(ms)] += 1
            d["latency"][side]["sum_ms"] += ms
        return direction

    def merge(self, other: dict) -> ImpactTally:
        d = self.data
        for key in ("replayed", "unchanged"):
            d[key] += other.get(key, 0)
        for key, n in other.get("flips", {}).items():
            d["flips"][key] = d["flips"].get(key, 0) + n
        for before, row in other.get("decisions", {}).items():
            mine = d["decisions"].setdefault(before, {})
            for after, n in row.items():
                mine[after] = mine.get(after, 0) + n
        for key, entry in other.get("rules", {}).items():
            mine = d["rules"].setdefault(key, {"before": {}, "after": {}, "changed": 0})
            for side in ("before", "after"):
                for outcome, n in entry.get(side, {}).items():
                    mine[side][outcome] = mine[side].get(outcome, 0) + n
            mine["changed"] += entry.get("changed", 0)
        for side in ("before", "after"):
            theirs = other.get("latency", {}).get(side)
            if theirs:
                d["latency"][side]["histogram"] = merge_histograms(
                    d["latency"][side]["histogram"], theirs["histogram"]
                )
                d["latency"][side]["sum_ms"] += theirs["sum_ms"]
        return self


def latency_summary(tally: dict) -> dict[str, dict[str, float | None]]:
    """before/after -> mean, p50, p95, p99 in ms."""
    out = {}
    for side in ("before", "after"):
        latency = tally.get("latency", {}).get(side) or {"histogram": [], "sum_ms": 0.0}
        count = sum(latency["histogram"])
        out[side] = {
            "mean": latency["sum_ms"] / count if count else None,
            **{f"p{q}": quantile(latency["histogram"], q / 100) for q in (50, 95, 99)},
        }
    return out
