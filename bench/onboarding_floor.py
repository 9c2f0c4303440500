"""The floor of the onboarding pipeline: its library calls in straight-line Python.

    python bench/onboarding_floor.py [--records N] [--seconds S]

For each application this makes the calls the seed's onboarding pipeline
(customer_onboarding_config.json) needs to decide it: phonenumbers, email-validator,
nameparser, zipcodes (each ZIP code looked up once, as the engine does), and the
SIMULATED services (rules_engine/services/simulated.py) at zero latency, rapidfuzz
screening included, each once, in one function, with the config's parameters written
in. The audit record it sends is masked by the engine's own ``mask_record``, since an
audit trail must not hold personal data in clear. It produces the same decision as the engine (the
overall status and each rule's outcome), and :func:`differences` checks that it does,
record by record: a floor that decided differently would measure something else.

``applications(n)`` is the realistic mix both run on: mostly good applicants, plus
malformed and disposable emails, bad phones, minors, low credit scores, high debt,
sanctions and PEP near-hits and hits, ZIP codes of another state, states not served
and missing fields.

Run alone it checks the floor against the engine on N applications and prints the
floor's records/s; ``bench/engine.py`` prints it beside the engine's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import phonenumbers  # noqa: E402
import zipcodes  # noqa: E402
from email_validator import EmailNotValidError, validate_email  # noqa: E402
from nameparser import HumanName  # noqa: E402

import rules_engine  # noqa: E402
from rules_engine.masking import mask_record  # noqa: E402
from rules_engine.services.simulated import (  # noqa: E402
    SimulatedAddressService,
    SimulatedAuditService,
    SimulatedCreditBureau,
    SimulatedDebtService,
    SimulatedIncomeService,
    SimulatedKYCService,
    SimulatedNotificationService,
    SimulatedPEPService,
    SimulatedRiskEngine,
    SimulatedSanctionsService,
)

NOW = "2024-01-15T12:00:00+00:00"
CONTEXT = {"now": NOW}
Decision = tuple[str, dict[str, str]]  # (status, outcome of each rule by id)

# ------------------------------------------------------------------ applications

_FIRST = ["Ann", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kate", "Luis"]
_MIDDLE = ["", "", "Marie", "J.", "Lee", ""]
_LAST = ["Smith", "Jones", "Garcia", "Nguyen", "Okafor", "Rossi", "Kowalski", "Brown", "Patel", "Moreau"]
# (state, city, ZIP, area code) in the states the product serves
_PLACES = [
    ("NY", "New York", "10001", "212"),
    ("CA", "San Francisco", "94105", "415"),
    ("TX", "Austin", "78701", "512"),
    ("FL", "Miami", "33101", "305"),
    ("IL", "Chicago", "60601", "312"),
    ("PA", "Philadelphia", "19103", "215"),
    ("OH", "Columbus", "43215", "614"),
    ("GA", "Atlanta", "30303", "404"),
    ("NC", "Raleigh", "27601", "919"),
    ("MI", "Detroit", "48226", "313"),
]
_STREETS = ["1 Main St", "22 market street", "305 north elm avenue", "4 Oak Rd Apt 2", "77 Pine Blvd"]
_PHONE_STYLES = [
    "({area}) 555-01{n:02d}",
    "{area}-555-01{n:02d}",
    "+1 {area} 555 01{n:02d}",
    "{area}.555.01{n:02d}",
]
_SANCTIONS_NEAR = [
    "Viktor Kastner",
    "Victor Kestrell",
    "Anselm Dragan",
    "Ilsa Marrow",
    "Zara Fenwick",
    "Teodor Quill",
]
_PEP_NEAR = [
    "Halvard Osterberg",
    "Halvard Østerlund",
    "Mirela Castellani",
    "Ingrid Osterlund",
    "Bea Varkonyi",
]


def _applicant(rng: random.Random) -> dict[str, Any]:
    first, middle, last = rng.choice(_FIRST), rng.choice(_MIDDLE), rng.choice(_LAST)
    state, city, zip_code, area = rng.choice(_PLACES)
    domain = rng.choice(["example.com", "Example.org", "mail.example.net"])
    record: dict[str, Any] = {
        "name": " ".join(p for p in (first, middle, last) if p),
        "email": rng.choice(["{f}.{l}@{d}", " {F}.{L}@{d} ", "{f}{l}{n}@{d}"]).format(
            f=first.lower(), l=last.lower(), F=first, L=last, n=rng.randint(1, 99), d=domain
        ),
        "phone": rng.choice(_PHONE_STYLES).format(area=area, n=rng.randint(0, 99)),
        "address": rng.choice(_STREETS),
        "city": city if rng.random() < 0.8 else city.lower(),
        "state": state,
        "zip_code": zip_code,
        "date_of_birth": f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "ssn": f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}",
        "annual_income": rng.randrange(48_000, 220_000, 1000),
        "country": "US",
    }
    if rng.random() < 0.97:
        record["credit_score"] = rng.randint(660, 830)
    if rng.random() < 0.3:
        record["monthly_debt"] = rng.randrange(0, 1200, 50)
    return record


_FLAWS: list[tuple[float, Callable[[dict[str, Any], random.Random], None]]] = [
    (
        0.04,
        lambda r, g: r.update(
            email=g.choice(["ann.smith@@example.com", "no-at-sign.example.com", "x@localhost"])
        ),
    ),
    (0.02, lambda r, g: r.update(email=f"temp{g.randint(1, 999)}@mailinator.com")),
    (
        0.04,
        lambda r, g: r.update(
            phone=g.choice(["555-01", "not a phone", "(212) 555-0100 x12", "123-456-7890"])
        ),
    ),
    (0.04, lambda r, g: r.update(date_of_birth=f"{g.randint(2007, 2012)}-05-01")),
    (0.05, lambda r, g: r.update(credit_score=g.randint(400, 640))),
    (0.02, lambda r, g: r.update(monthly_debt=g.randrange(3000, 6000, 100), monthly_mortgage=2000)),
    (0.03, lambda r, g: r.update(name=g.choice(_SANCTIONS_NEAR))),
    (0.01, lambda r, g: r.update(name="Viktor Kestrel")),
    (0.03, lambda r, g: r.update(name=g.choice(_PEP_NEAR))),
    (0.02, lambda r, g: r.update(zip_code=g.choice(["94105", "10001", "60601"]))),
    (0.02, lambda r, g: r.update(state="WA", city="Seattle", zip_code="98101", phone="(206) 555-0142")),
    (0.01, lambda r, g: r.update(ssn="666-12-3456")),
    (
        0.04,
        lambda r, g: r.pop(
            g.choice(["email", "phone", "date_of_birth", "address", "ssn", "name", "zip_code"]), None
        ),
    ),
]


def applications(n: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` applications, the same for the same seed: about two in three without a flaw."""
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        record = _applicant(rng)
        for share, flaw in _FLAWS:
            if rng.random() < share:
                flaw(record, rng)
        records.append(record)
    return records


# ------------------------------------------------------------------ the floor


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


class Floor:
    """The onboarding pipeline's decision in straight-line Python (seed params written in)."""

    ALLOWED_STATES = frozenset({"CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI"})
    DISPOSABLE = ("mailinator.com", "guerrillamail.com", "yopmail.com", "tempmail.com", "10minutemail.com")

    def __init__(self) -> None:
        self.address = SimulatedAddressService("google_maps")
        self.kyc = SimulatedKYCService("jumio")
        self.sanctions = SimulatedSanctionsService("worldcheck")
        self.pep = SimulatedPEPService("dowjones")
        self.risk = SimulatedRiskEngine("quantexa")
        self.credit = SimulatedCreditBureau("experian")
        self.income = SimulatedIncomeService("argyle")
        self.debt = SimulatedDebtService("yodlee")
        self.audit = SimulatedAuditService("primary")
        self.notify = SimulatedNotificationService("sendgrid")
        self.today = datetime.fromisoformat(NOW).date()

    def decide(self, record: Mapping[str, Any]) -> Decision:
        data = dict(record)
        out: dict[str, str] = {}
        # preprocessing: each rule reads the record as it came
        texts = [f for f in ("name", "email", "address", "city", "state") if isinstance(data.get(f), str)]
        out["trim_whitespace"] = "pass" if texts else "skip"
        writes: dict[str, Any] = {f: data[f].strip() for f in texts}
        phone, number = data.get("phone"), None
        out["normalize_phone"] = "skip"
        if isinstance(phone, str) and phone.strip():
            try:
                number = phonenumbers.parse(phone, "US")
            except phonenumbers.NumberParseException:
                number = None
            if number is not None and phonenumbers.is_possible_number(number) and not number.extension:
                writes["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                out["normalize_phone"] = "pass"
        street = data.get("address")
        out["normalize_address"] = "skip"
        if isinstance(street, str) and street.strip():
            fields = ("address", "city", "state", "zip_code", "country")
            standard = self.address.normalize_address({f: data.get(f) for f in fields})
            if standard["standardized"]:
                out["normalize_address"] = "pass"
                writes.update({k: standard[k] for k in fields[:4] if standard.get(k)})
        name = data.get("name")
        out["extract_name_components"] = "skip"
        if isinstance(name, str) and name.strip():
            parsed = HumanName(" ".join(name.split()))
            if parsed.first or parsed.last:
                out["extract_name_components"] = "pass"
                for part in ("first", "middle", "last"):
                    if getattr(parsed, part):
                        writes[f"{part}_name"] = getattr(parsed, part)
        email, domain, email_ok = data.get("email"), None, False
        out["standardize_email"] = "skip"
        if isinstance(email, str) and email.strip():
            try:
                checked = validate_email(email.strip(), check_deliverability=False)
                domain = checked.domain.lower()
                writes["email"] = f"{checked.local_part.lower()}@{domain}"
                out["standardize_email"] = email_ok = "pass"
            except EmailNotValidError:
                pass
        data.update(writes)
        # data quality: sequential, fail_fast
        dq = [
            "required_personal_info",
            "email_format_validation",
            "phone_format_validation",
            "data_consistency_check",
        ]
        verdicts: list[str] = []
        if any(_missing(data.get(f)) for f in ("first_name", "last_name", "email", "phone")):
            verdicts.append("fail")
        else:
            verdicts.append("pass")
            email_verdict = "fail"
            if email_ok and domain is not None:
                email_verdict = (
                    "fail"
                    if any(domain == d or domain.endswith("." + d) for d in self.DISPOSABLE)
                    else "pass"
                )
            verdicts.append(email_verdict)
            if email_verdict == "pass":
                phone_ok = (
                    number is not None
                    and "phone" in writes
                    and phonenumbers.is_valid_number(number)
                    and not number.extension
                )
                if phone_ok:
                    phonenumbers.region_code_for_number(number)
                    phonenumbers.number_type(number)
                verdicts.append("pass" if phone_ok else "fail")
                if phone_ok:
                    verdicts.append(self._state_zip(data))
        dq_failed = "fail" in verdicts
        verdicts += ["skip"] * (len(dq) - len(verdicts))
        out.update(zip(dq, verdicts, strict=True))
        out.update(dict.fromkeys(_LATER_RULES, "skip"))  # until their stage runs
        if not dq_failed:
            self._compliance_and_after(data, out)
        outcomes = set(out.values())
        status = "failed" if "fail" in outcomes else "undecided" if "skip" in outcomes else "passed"
        return status, out

    def _state_zip(self, data: Mapping[str, Any]) -> str:
        state, zip_code = data.get("state"), data.get("zip_code")
        if _missing(state) or _missing(zip_code):
            return "skip"
        return "pass" if str(state).strip().upper() in _zip_states(str(zip_code).strip()) else "fail"

    def _compliance_and_after(self, data: dict[str, Any], out: dict[str, str]) -> None:
        """The compliance, business and post-processing stages, each while none failed."""
        consistent = out["data_consistency_check"] == "pass"
        kyc = "skip"
        if consistent:
            answer = self.kyc.verify_identity(
                {"applicant": data, "verification_level": "enhanced", "document_types": ["drivers_license"]}
            )
            kyc = out["kyc_identity_verification"] = (
                "pass" if answer["verified"] and answer["confidence"] >= 0.7 else "fail"
            )
        name = data.get("name") or " ".join(
            data[k] for k in ("first_name", "middle_name", "last_name") if data.get(k)
        )
        name = " ".join(name.split())
        hits = self.sanctions.screen(
            {
                "applicant": data,
                "name": name,
                "lists": ["OFAC-SDN"],
                "include_aliases": True,
                "include_historical": True,
                "min_score": 0.75,
            }
        )["matches"]
        ofac = out["ofac_sanctions_screening"] = "fail" if any(m["score"] >= 0.85 for m in hits) else "pass"
        pep = "skip"
        if ofac == "pass":
            peps = self.pep.screen(
                {"applicant": data, "name": name, "include_associates": True, "min_score": 0.85}
            )
            pep = out["pep_screening"] = (
                "fail" if any(m["category"] in ("high", "medium") for m in peps["matches"]) else "pass"
            )
        if kyc == "pass" and pep == "pass":
            risk = self.risk.assess(
                {"applicant": data, "factors": ["geographic_risk", "occupation_risk", "transaction_patterns"]}
            )
            out["aml_risk_assessment"] = "fail" if risk["risk_score"] >= 0.7 else "pass"
        if "fail" in (out[r] for r in _COMPLIANCE):
            return
        # business rules
        if kyc == "pass":
            born = _date(data.get("date_of_birth"))
            age = (
                None
                if born is None
                else self.today.year
                - born.year
                - ((self.today.month, self.today.day) < (born.month, born.day))
            )
            out["age_verification"] = (
                "pass" if age is not None and 18 <= age <= 130 and born <= self.today else "fail"
            )
            if out["age_verification"] == "pass":
                report = self.credit.credit_report({"applicant": data, "score_model": "FICO_8"})
                out["credit_score_check"] = (
                    "pass" if report["file_found"] and report["score"] >= 650 else "fail"
                )
            income = self.income.verify_income({"applicant": data, "methods": ["bank_statements"]})
            out["income_verification"] = (
                "pass" if income["verified"] and income["monthly_income"] >= 3000 else "fail"
            )
            if out["income_verification"] == "pass" and out["credit_score_check"] == "pass":
                debt = self.debt.monthly_debt({"applicant": data, "include_mortgage": True})["monthly_debt"]
                out["debt_to_income_calculation"] = (
                    "pass" if round(debt / income["monthly_income"], 4) <= 0.43 else "fail"
                )
        if out["data_consistency_check"] == "pass":
            out["geographic_eligibility"] = "pass" if data.get("state") in self.ALLOWED_STATES else "fail"
        if "fail" in (out[r] for r in _BUSINESS):
            return
        # post-processing
        fingerprint = json.dumps([data.get(f) for f in ("email", "phone", "ssn")], default=str)
        data["customer_id"] = "CUST-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12].upper()
        out["generate_customer_id"] = "pass"
        # the audit trail holds the record with its personal data masked, and the outcomes
        self.audit.record(
            {
                "run": CONTEXT,
                "record": mask_record(data),
                "results": [{"rule": rule, "outcome": outcome} for rule, outcome in out.items()],
            }
        )
        out["create_audit_trail"] = "pass"
        factors = (
            "kyc_identity_verification",
            "aml_risk_assessment",
            "credit_score_check",
            "geographic_eligibility",
        )
        out["risk_score_calculation"] = "pass" if "pass" in (out[r] for r in factors) else "skip"
        variables = {k: data[k] for k in ("first_name", "last_name", "customer_id") if data.get(k)}
        self.notify.send(
            {
                "template": "customer_onboarding_success",
                "recipient": data.get("email"),
                "channel": "email",
                "variables": variables,
            }
        )
        out["notification_dispatch"] = "pass"


@lru_cache(maxsize=8192)
def _zip_states(zip_code: str) -> frozenset[str]:
    """The states of a ZIP code, each looked up once (as the engine's consistency rule does)."""
    return frozenset(match["state"] for match in zipcodes.matching(zip_code))


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


_COMPLIANCE = (
    "kyc_identity_verification",
    "ofac_sanctions_screening",
    "pep_screening",
    "aml_risk_assessment",
)
_BUSINESS = (
    "age_verification",
    "credit_score_check",
    "income_verification",
    "debt_to_income_calculation",
    "geographic_eligibility",
)
_POST = ("generate_customer_id", "create_audit_trail", "risk_score_calculation", "notification_dispatch")
_LATER_RULES = _COMPLIANCE + _BUSINESS + _POST


# ------------------------------------------------------------------ checking and timing


def engine_decision(result: Any) -> Decision:
    """The engine's decision from a ``RunResult``: its status and each rule's outcome."""
    return result.status, {rule.id: rule.outcome for rule in result.rules()}


def differences(pipeline: Any, floor: Floor, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records on which the floor and the engine decide differently (empty: they agree)."""
    found = []
    for index, record in enumerate(records):
        engine = engine_decision(pipeline.run(record, context=CONTEXT))
        mine = floor.decide(record)
        if mine != engine:
            rules = {r: (mine[1].get(r), o) for r, o in engine[1].items() if mine[1].get(r) != o}
            found.append({"record": index, "status": (mine[0], engine[0]), "rules (floor, engine)": rules})
    return found


def rate(decide: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]], seconds: float) -> float:
    """Records per second of ``decide`` over ``records`` in turn, for at least ``seconds``."""
    done, started = 0, time.perf_counter()
    while True:
        for record in records:
            decide(record)
        done += len(records)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    config = rules_engine.load_config(REPO / "rules_engine" / "examples" / "customer_onboarding.json")
    records = applications(args.records)
    floor = Floor()
    with rules_engine.compile_pipeline(config) as pipeline:
        wrong = differences(pipeline, floor, records)
    if wrong:
        print(f"the floor decides {len(wrong)} of {len(records)} records differently from the engine:")
        for entry in wrong[:10]:
            print("  ", json.dumps(entry, ensure_ascii=False))
        raise SystemExit(1)
    statuses: dict[str, int] = {}
    for record in records:
        status = floor.decide(record)[0]
        statuses[status] = statuses.get(status, 0) + 1
    print(f"floor agrees with the engine on {len(records)} records ({statuses})")
    print(f"floor: {rate(floor.decide, records, args.seconds):,.0f} records/s")


if __name__ == "__main__":
    main()
