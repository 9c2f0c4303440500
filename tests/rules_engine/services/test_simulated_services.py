"""The SIMULATED adapters: deterministic, labelled, with latency and failures on demand."""

from __future__ import annotations

import json
import time

import pytest

from rules_engine.services import INTERFACES, ServiceUnavailable, default_registry, simulated_registry
from rules_engine.services.registry import ServiceRef
from rules_engine.services.simulated import (
    SIMULATED_ADAPTERS,
    SimulatedCreditBureau,
    SimulatedKYCService,
    SimulatedSanctionsService,
    load_watchlist,
    name_similarity,
)

MARIA = {
    "name": "Maria Elena Garcia",
    "ssn": "123-45-6789",
    "date_of_birth": "1988-07-21",
    "address": "1 Main St",
}
SAMPLE_PAYLOADS = {
    "verify_identity": {"applicant": MARIA},
    "screen": {"name": "Maria Elena Garcia", "applicant": MARIA},
    "assess": {"applicant": MARIA, "factors": ["geographic_risk"]},
    "credit_report": {"applicant": MARIA},
    "verify_income": {"applicant": {"annual_income": 60000}},
    "monthly_debt": {"applicant": {"monthly_debt": 100}},
    "normalize_address": {"address": "1 main street"},
    "record": {"record": {"a": 1}},
    "send": {"template": "t", "recipient": "x@example.com", "channel": "email"},
}


@pytest.mark.parametrize("interface", sorted(INTERFACES))
def test_default_registry__any_vendor_name__resolves_a_labelled_simulated_adapter(interface):
    # Given the default registry and a vendor name nobody configured
    registry = default_registry()
    adapter = registry.resolve(ServiceRef(interface, "some_vendor"))
    # When each operation of the interface is called
    for operation in INTERFACES[interface]:
        answer = getattr(adapter, operation)(SAMPLE_PAYLOADS[operation])
        # Then it answers a JSON object labelled simulated
        assert answer["simulated"] is True
        assert answer["service"] == f"{interface}:some_vendor"
        json.dumps(answer)
    assert "SIMULATED" in type(adapter).__doc__


def test_simulated_adapters__interfaces__every_one_covered():
    # Given the interface table; Then every interface has a simulated adapter with its operations
    assert set(SIMULATED_ADAPTERS) == set(INTERFACES)
    for interface, cls in SIMULATED_ADAPTERS.items():
        assert all(callable(getattr(cls, op, None)) for op in INTERFACES[interface])


def test_simulated_registry__same_name__resolves_the_same_adapter():
    # Given same name; When simulated registry runs; Then it resolves the same adapter
    registry = simulated_registry()
    ref = ServiceRef("KYCService", "jumio")
    assert registry.resolve(ref) is registry.resolve(ref)


def test_latency__configured__delays_each_call():
    # Given configured; When latency runs; Then it delays each call
    adapter = SimulatedKYCService(latency_ms=30)
    started = time.perf_counter()
    adapter.verify_identity({"applicant": MARIA})
    assert time.perf_counter() - started >= 0.03


def test_latency__waits_on_io__only_with_latency():
    # Given adapters with and without latency; Then only the one with latency waits like a network call
    assert SimulatedKYCService(latency_ms=30).waits_on_io is True
    assert SimulatedKYCService().waits_on_io is False


def test_latency__under_a_call_deadline__ends_there_with_service_timeout():
    # Given a 2 s latency, under a call deadline 0.1 s away
    from rules_engine.services.interfaces import ServiceTimeout, call_deadline

    adapter = SimulatedKYCService("jumio", latency_ms=2000)
    started = time.perf_counter()
    # When it is called; Then the wait ends at the deadline with ServiceTimeout
    with call_deadline(started + 0.1), pytest.raises(ServiceTimeout, match="KYCService:jumio"):
        adapter.verify_identity({"applicant": MARIA})
    assert 0.1 <= time.perf_counter() - started < 1.0


def test_failure_rate__one__every_call_raises_service_unavailable():
    # Given one; When failure rate runs; Then it every call raises service unavailable
    adapter = SimulatedKYCService("jumio", failure_rate=1.0)
    with pytest.raises(
        ServiceUnavailable, match=r"simulated outage of KYCService:jumio during verify_identity"
    ):
        adapter.verify_identity({"applicant": MARIA})


def test_failure_rate__same_seed__fails_the_same_calls_and_some_succeed():
    # Given same seed; When failure rate runs; Then it fails the same calls and some succeed
    def pattern(seed):
        adapter = SimulatedCreditBureau(failure_rate=0.3, seed=seed)
        outcomes = []
        for _ in range(60):
            try:
                adapter.credit_report({"applicant": MARIA})
                outcomes.append(True)
            except ServiceUnavailable:
                outcomes.append(False)
        return outcomes

    first, again, other = pattern(7), pattern(7), pattern(8)
    assert first == again and first != other
    assert 5 < first.count(False) < 35, "about 30% of calls fail"


def test_simulated_adapter__bad_options__rejected():
    # Given a failure rate above 1 or a negative latency; Then construction raises ValueError
    with pytest.raises(ValueError):
        SimulatedKYCService(failure_rate=1.5)
    with pytest.raises(ValueError):
        SimulatedKYCService(latency_ms=-1)


def test_kyc__verification__derives_from_content_only():
    # Given verification; When kyc runs; Then it derives from content only
    a = SimulatedKYCService("a").verify_identity({"applicant": MARIA})
    b = SimulatedKYCService("b").verify_identity({"applicant": dict(MARIA)})
    assert a["verification_id"] == b["verification_id"] and a["confidence"] == b["confidence"]


def test_credit_bureau__out_of_range_declared_score__is_clamped():
    # Given out of range declared score; When credit bureau runs; Then it is clamped
    bureau = SimulatedCreditBureau()
    assert bureau.credit_report({"applicant": {"credit_score": 900}})["score"] == 850
    assert bureau.credit_report({"applicant": {"credit_score": "100"}})["score"] == 300


def test_sanctions__threshold_is_the_callers__scores_are_0_to_1():
    # Given threshold is the callers; When sanctions runs; Then it scores are 0 to 1
    service = SimulatedSanctionsService()
    loose = service.screen({"name": "Viktor Kestrin", "min_score": 0.5})["matches"]
    strict = service.screen({"name": "Viktor Kestrin", "min_score": 0.99})["matches"]
    assert loose and not strict
    assert all(0 <= m["score"] <= 1 for m in loose)


def test_sanctions__date_of_birth__is_compared_when_both_known():
    # Given date of birth; When sanctions runs; Then it is compared when both known
    service = SimulatedSanctionsService()
    same = service.screen({"name": "Viktor Kestrel", "applicant": {"date_of_birth": "1971-04-09"}})
    other = service.screen({"name": "Viktor Kestrel", "applicant": {"date_of_birth": "1990-01-01"}})
    assert same["matches"][0]["date_of_birth_match"] is True
    assert other["matches"][0]["date_of_birth_match"] is False


def test_watchlist__shipped_file__labelled_fictional_with_aliases():
    # Given the shipped watch list; Then it says it is fictional and every sanctions entry has aliases
    watchlist = load_watchlist()
    assert "FICTIONAL" in watchlist["_note"]
    assert all(entry["aliases"] for entry in watchlist["sanctions"])
    assert {p["category"] for p in watchlist["peps"]} == {"low", "medium", "high"}


@pytest.mark.parametrize(
    "a,b,low,high",
    [
        ("Viktor Kestrel", "Kestrel Viktor", 1.0, 1.0),
        ("José Núñez", "Jose Nunez", 1.0, 1.0),
        ("Maria Garcia", "Viktor Kestrel", 0.0, 0.5),
    ],
)
def test_name_similarity__order_accents_strangers__scored_as_expected(a, b, low, high):
    # Given two names; When compared; Then word order and accents do not matter and strangers score low
    assert low <= name_similarity(a, b) <= high


def test_address__usps_style__and_zip_fill():
    # Given usps style; When address runs; Then it and zip fill
    registry = default_registry()
    service = registry.resolve(ServiceRef("AddressService", "default"))
    answer = service.normalize_address({"address": "12  north main street apt 4b", "zip_code": 2134})
    assert answer["address"] == "12 N Main St Apt 4b"
    assert (answer["city"], answer["state"], answer["zip_code"]) == ("Allston", "MA", "02134")


def test_audit_service__many_records__bounded_history():
    # Given 1,005 audit records; When stored; Then only the last 1,000 are kept in memory
    audit = default_registry().resolve(ServiceRef("AuditService", "default"))
    for i in range(1005):
        audit.record({"record": {"i": i}})
    assert len(audit.records) == 1000 and audit.records[-1]["record"] == {"i": 1004}


def test_call_counter__many_threads__counts_every_call():
    # Given many threads; When call counter runs; Then it counts every call
    from concurrent.futures import ThreadPoolExecutor

    adapter = SimulatedKYCService()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: adapter.verify_identity({"applicant": MARIA}), range(200)))
    assert adapter.calls == 200
