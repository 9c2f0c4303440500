from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.runs.metrics import BUCKETS, LATENCY_BOUNDS_MS, bucket_start, latency_bucket, quantile


def test_bucket_start__any_minute__floored_to_five_minutes():
    when = datetime(2026, 3, 1, 10, 17, 45, 123, tzinfo=UTC)
    assert bucket_start(when) == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def test_latency_bucket__bounds__inclusive_upper_edges():
    assert latency_bucket(0.0) == 0 and latency_bucket(0.1) == 0 and latency_bucket(0.11) == 1
    assert latency_bucket(10_000) == len(LATENCY_BOUNDS_MS) - 1 and latency_bucket(99_999) == BUCKETS - 1


def test_quantile__empty__none_and_known_distribution__inside_its_bucket():
    assert quantile([0] * BUCKETS, 0.5) is None
    histogram = [0] * BUCKETS
    histogram[latency_bucket(3)] = 90  # 90 runs in (2.5, 5]
    histogram[latency_bucket(300)] = 10  # 10 runs in (250, 500]
    assert 2.5 <= quantile(histogram, 0.5) <= 5
    assert 250 <= quantile(histogram, 0.95) <= 500


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 20_000, allow_nan=False), min_size=1, max_size=200))
def test_quantile__any_latencies__p50_le_p95_le_p99_and_within_the_true_buckets(latencies):
    histogram = [0] * BUCKETS
    for ms in latencies:
        histogram[latency_bucket(ms)] += 1
    p50, p95, p99 = (quantile(histogram, q) for q in (0.5, 0.95, 0.99))
    assert p50 <= p95 <= p99
    true_p99 = sorted(latencies)[max(0, int(round(0.99 * len(latencies))) - 1)]
    low = LATENCY_BOUNDS_MS[latency_bucket(true_p99) - 1] if latency_bucket(true_p99) > 0 else 0
    assert p99 >= low
