"""SIMULATED outside services, for demos, tests and load experiments.

Nothing here contacts a real vendor. Every adapter is deterministic: its answer
derives from the content of the request (SHA-256 of the normalised name, SSN, ...),
so the same applicant always gets the same answer, and every answer carries
``"simulated": true``. Each adapter takes ``latency_ms`` (it sleeps that long per
call) and ``failure_rate`` (0..1: that share of calls raise ServiceUnavailable,
decided from ``seed`` and the adapter's call counter, so a retry can succeed and a
run with the same seed fails the same calls), which is how timeouts, retries and
parallelism can be shown. An adapter with latency waits like a network call
(``waits_on_io``); one without does not, so the executor calls it in the calling thread.
Either way the delay ends at the executor's :func:`~.interfaces.call_deadline`, with
ServiceTimeout (``bounds_calls``).

Simulation rules (the demo applications rely on them):

- KYCService.verify_identity: not verified when the name is missing; the SSN is
  missing, not 9 digits, or never issued (area 000, 666 or 9xx, group 00, serial
  0000); the date of birth is missing (standard and enhanced levels) or the address
  is missing (enhanced). Otherwise verified, confidence 0.80..0.99 from a hash.
- SanctionsService.screen: fuzzy-matches the name (rapidfuzz token_sort_ratio,
  accents and punctuation ignored, scaled to 0..1) against the FICTIONAL watch list in
  ``data/watchlist.json`` (names, and aliases when asked); returns entries scoring at
  least ``min_score``. Delisted entries only with ``include_historical``.
- PEPService.screen: the same against the fictional PEP list, including relatives
  and associates when ``include_associates``.
- RiskEngine.assess: factor scores: geographic_risk 1.0 for a sanctioned country,
  0.5 outside the US, 0.1 in the US; occupation_risk 0.8 for cash-intensive or
  high-risk occupations (casino, money services, precious metals, arms, crypto...),
  0.3 when not given, else 0.1; transaction_patterns from expected_monthly_deposits:
  0.9 above 50,000, 0.5 above 10,000, 0.2 when not given, else 0.1; pep_exposure
  0.8 when PEP matches were found, else 0. risk_score is their mean.
- CreditBureau.credit_report: the record's ``credit_score`` when it has one (demo
  applicants set it), else 300..850 from a hash of the SSN (or name and date of
  birth); no credit file when there is neither SSN nor name.
- IncomeService.verify_income: monthly income from ``monthly_income``, else
  ``annual_income`` / 12; not verified when neither is given or it is not positive.
- DebtService.monthly_debt: ``monthly_debt`` plus ``monthly_mortgage`` (when the
  mortgage is included); 0 when not given.
- AddressService.normalize_address: collapses spaces, capitalises words, abbreviates
  street suffixes and directions the USPS way (Street -> St, North -> N), turns state
  names into USPS codes, and fills a missing city or state from the ZIP code.
- AuditService.record: stores the record (the last 1,000, in memory) and returns an
  audit id derived from its content.
- NotificationService.send: stores the message (the last 1,000) and returns a
  message id derived from its content; nothing is sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, ClassVar

import zipcodes
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from rules_engine.geography import COUNTRY_LISTS, country_code, state_code
from rules_engine.services.interfaces import ServiceTimeout, ServiceUnavailable, call_time_left
from rules_engine.services.registry import ServiceRegistry

__all__ = [
    "SimulatedService",
    "SimulatedKYCService",
    "SimulatedSanctionsService",
    "SimulatedPEPService",
    "SimulatedRiskEngine",
    "SimulatedCreditBureau",
    "SimulatedIncomeService",
    "SimulatedDebtService",
    "SimulatedAddressService",
    "SimulatedAuditService",
    "SimulatedNotificationService",
    "SIMULATED_ADAPTERS",
    "simulated_registry",
    "load_watchlist",
    "name_similarity",
]

WATCHLIST_PATH = Path(__file__).with_name("data") / "watchlist.json"


def _digest(*parts: Any) -> str:
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _unit(*parts: Any) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    return int(_digest(*parts)[:16], 16) / 2**64


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "").replace("$", ""))
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _applicant_name(applicant: Mapping[str, Any]) -> str:
    name = _text(applicant.get("name"))
    if name:
        return name
    return " ".join(
        filter(None, (_text(applicant.get(k)) for k in ("first_name", "middle_name", "last_name")))
    )


def normalise_name(name: str) -> str:
    """Lower case, accents removed, punctuation turned into spaces (for fuzzy matching)."""
    if name.isascii():  # nothing to decompose: rapidfuzz's own processing is all there is to do
        return default_process(name)
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return default_process(stripped.replace("ø", "o").replace("Ø", "O"))


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, 0..1 (rapidfuzz token_sort_ratio: word order ignored)."""
    return fuzz.token_sort_ratio(normalise_name(a), normalise_name(b)) / 100


@lru_cache(maxsize=1)
def load_watchlist() -> dict[str, Any]:
    """The FICTIONAL sanctions and PEP lists shipped for demos (see its ``_note``)."""
    with WATCHLIST_PATH.open(encoding="utf-8") as handle:
        watchlist: dict[str, Any] = json.load(handle)
    return watchlist


class SimulatedService:
    """Base of the SIMULATED adapters: latency, deterministic failures, labelled answers."""

    interface: ClassVar[str] = ""
    #: the simulated delay ends at the executor's call deadline
    bounds_calls: ClassVar[bool] = True

    def __init__(
        self, name: str = "default", *, latency_ms: float = 0, failure_rate: float = 0.0, seed: int = 0
    ):
        if latency_ms < 0:
            raise ValueError("latency_ms must be at least 0")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.name = name
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate
        self.seed = seed
        self._calls = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, latency_ms={self.latency_ms}, "
            f"failure_rate={self.failure_rate}, seed={self.seed})"
        )

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def waits_on_io(self) -> bool:
        """A call waits (like a network call) only when the adapter has latency."""
        return self.latency_ms > 0

    def _enter(self, operation: str) -> None:
        """Simulate the network: wait ``latency_ms`` (no longer than the executor's call
        deadline allows: ServiceTimeout when it cuts the wait short), then fail
        ``failure_rate`` of the calls."""
        with self._lock:
            self._calls += 1
            call = self._calls
        if self.latency_ms:
            delay = self.latency_ms / 1000
            left = call_time_left()
            if left is not None and left < delay:
                time.sleep(max(left, 0.0))
                raise ServiceTimeout(
                    f"simulated {self.interface}:{self.name} {operation}: no answer before the call's deadline"
                )
            time.sleep(delay)
        if self.failure_rate and _unit(self.seed, self.interface, self.name, call) < self.failure_rate:
            raise ServiceUnavailable(
                f"simulated outage of {self.interface}:{self.name} during {operation} "
                f"(call {call}, failure_rate {self.failure_rate})"
            )

    def _answer(self, **fields: Any) -> dict[str, Any]:
        return {**fields, "simulated": True, "service": f"{self.interface}:{self.name}"}


def _applicant(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    applicant = payload.get("applicant") if isinstance(payload, Mapping) else None
    return applicant if isinstance(applicant, Mapping) else {}


class SimulatedKYCService(SimulatedService):
    """SIMULATED KYC (identity verification) service. See the module docstring."""

    interface = "KYCService"

    def verify_identity(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("verify_identity")
        applicant = _applicant(payload)
        level = payload.get("verification_level") or "standard"
        documents = payload.get("document_types") or ["drivers_license"]
        name = _applicant_name(applicant)
        ssn = "".join(ch for ch in str(applicant.get("ssn") or "") if ch.isdigit())
        reasons: list[str] = []
        if not name:
            reasons.append("name is missing")
        if not applicant.get("ssn"):
            reasons.append("SSN is missing")
        elif len(ssn) != 9:
            reasons.append("SSN must have 9 digits")
        elif ssn[:3] in ("000", "666") or ssn[0] == "9":
            reasons.append(f"SSN area {ssn[:3]} is never issued")
        elif ssn[3:5] == "00" or ssn[5:] == "0000":
            reasons.append("SSN group 00 or serial 0000 is never issued")
        if level in ("standard", "enhanced") and not _text(applicant.get("date_of_birth")):
            reasons.append(f"date of birth is required for {level} verification")
        if level == "enhanced" and not _text(applicant.get("address")):
            reasons.append("address is required for enhanced verification")
        key = _digest(ssn, normalise_name(name), applicant.get("date_of_birth"))
        verified = not reasons
        confidence = round(0.80 + int(key[:8], 16) % 20 / 100, 2) if verified else 0.0
        return self._answer(
            verified=verified,
            verification_id=f"KYC-{key[:10].upper()}",
            confidence=confidence,
            reasons=reasons,
            verification_level=level,
            document_type=documents[0],
        )


Candidate = tuple[str, str, str]  # (matched name, person's name, relationship)


@lru_cache(maxsize=4096)
def _normalised(name: str) -> str:
    """A watch-list name normalised once (the list is fixed; its names recur on every screen)."""
    return normalise_name(name)


class _ListScreening(SimulatedService):
    def _candidates(self, entry: Mapping[str, Any], include_aliases: bool) -> list[Candidate]:
        """(matched name, person's name, relationship) for one list entry."""
        names = [entry["name"], *(entry.get("aliases") or [])] if include_aliases else [entry["name"]]
        return [(name, entry["name"], "self") for name in names]

    @staticmethod
    def _best(query: str, candidates: list[Candidate]) -> tuple[float, Candidate] | None:
        """The best-scoring candidate (the first of equals) for the normalised ``query``."""
        best = process.extractOne(
            query, [_normalised(cand[0]) for cand in candidates], scorer=fuzz.token_sort_ratio
        )
        return None if best is None else (best[1] / 100, candidates[best[2]])


class SimulatedSanctionsService(_ListScreening):
    """SIMULATED sanctions screening against the FICTIONAL watch list. See the module docstring."""

    interface = "SanctionsService"

    def screen(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("screen")
        applicant = _applicant(payload)
        name = _text(payload.get("name")) or _applicant_name(applicant)
        lists = payload.get("lists")
        include_aliases = payload.get("include_aliases", True)
        include_historical = bool(payload.get("include_historical", False))
        min_score = float(payload.get("min_score", 0.85))
        entries = [e for e in load_watchlist()["sanctions"] if not lists or e["list"] in lists]
        query = normalise_name(name)
        matches = []
        for entry in entries:
            if entry.get("status") == "delisted" and not include_historical:
                continue
            best = self._best(query, self._candidates(entry, include_aliases)) if name else None
            if best is None or best[0] < min_score:
                continue
            score, (matched, _, _) = best
            dob = applicant.get("date_of_birth")
            matches.append(
                {
                    "entry_id": entry["id"],
                    "name": entry["name"],
                    "matched_name": matched,
                    "list": entry["list"],
                    "program": entry["program"],
                    "status": entry.get("status", "active"),
                    "score": round(score, 3),
                    "date_of_birth_match": (dob == entry.get("date_of_birth"))
                    if dob and entry.get("date_of_birth")
                    else None,
                }
            )
        matches.sort(key=lambda m: -m["score"])
        return self._answer(matches=matches, lists_checked=sorted({e["list"] for e in entries}))


class SimulatedPEPService(_ListScreening):
    """SIMULATED PEP screening against the FICTIONAL PEP list. See the module docstring."""

    interface = "PEPService"

    def screen(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("screen")
        applicant = _applicant(payload)
        name = _text(payload.get("name")) or _applicant_name(applicant)
        include_associates = bool(payload.get("include_associates", False))
        min_score = float(payload.get("min_score", 0.85))
        query = normalise_name(name)
        matches = []
        for entry in load_watchlist()["peps"]:
            candidates = self._candidates(entry, True)
            if include_associates:
                candidates += [
                    (a["name"], a["name"], f"{a['relationship']} of {entry['name']}")
                    for a in entry.get("associates") or []
                ]
            best = self._best(query, candidates) if name else None
            if best is None or best[0] < min_score:
                continue
            score, (matched, person, relationship) = best
            matches.append(
                {
                    "entry_id": entry["id"],
                    "name": person,
                    "matched_name": matched,
                    "pep_name": entry["name"],
                    "position": entry["position"],
                    "country": entry["country"],
                    "category": entry["category"],
                    "relationship": relationship,
                    "score": round(score, 3),
                }
            )
        matches.sort(key=lambda m: -m["score"])
        return self._answer(matches=matches)


HIGH_RISK_OCCUPATIONS = (
    "casino",
    "gambling",
    "money service",
    "money transfer",
    "currency exchange",
    "pawn",
    "precious metal",
    "jewel",
    "arms",
    "weapons",
    "crypto",
    "virtual currency",
    "cash-intensive",
    "car dealer",
    "art dealer",
)


class SimulatedRiskEngine(SimulatedService):
    """SIMULATED AML risk engine. See the module docstring."""

    interface = "RiskEngine"

    def assess(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("assess")
        applicant = _applicant(payload)
        factors = payload.get("factors") or ["geographic_risk", "occupation_risk", "transaction_patterns"]
        scores: dict[str, float] = {}
        for factor in factors:
            if factor == "geographic_risk":
                country = country_code(applicant.get("country")) or "US"
                scores[factor] = (
                    1.0
                    if country in COUNTRY_LISTS["sanctioned_countries"]
                    else (0.1 if country == "US" else 0.5)
                )
            elif factor == "occupation_risk":
                occupation = _text(applicant.get("occupation")).lower()
                scores[factor] = (
                    0.3
                    if not occupation
                    else (0.8 if any(word in occupation for word in HIGH_RISK_OCCUPATIONS) else 0.1)
                )
            elif factor == "transaction_patterns":
                deposits = _number(applicant.get("expected_monthly_deposits"))
                scores[factor] = (
                    0.2
                    if deposits is None
                    else (0.9 if deposits > 50_000 else 0.5 if deposits > 10_000 else 0.1)
                )
            elif factor == "pep_exposure":
                scores[factor] = 0.8 if payload.get("pep_match_count") else 0.0
        risk = round(sum(scores.values()) / len(scores), 4) if scores else 0.0
        level = "high" if risk >= 0.7 else "medium" if risk >= 0.4 else "low"
        return self._answer(risk_score=risk, risk_level=level, factors=scores)


class SimulatedCreditBureau(SimulatedService):
    """SIMULATED credit bureau. See the module docstring."""

    interface = "CreditBureau"

    def credit_report(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("credit_report")
        applicant = _applicant(payload)
        model = payload.get("score_model") or "FICO_8"
        declared = _number(applicant.get("credit_score"))
        if declared is not None:
            return self._answer(
                file_found=True,
                score=int(min(max(round(declared), 300), 850)),
                model=model,
                bureau=self.name,
                source="record credit_score",
            )
        ssn = "".join(ch for ch in str(applicant.get("ssn") or "") if ch.isdigit())
        name = _applicant_name(applicant)
        if not ssn and not name:
            return self._answer(file_found=False, score=None, model=model, bureau=self.name)
        key = _digest(ssn) if ssn else _digest(normalise_name(name), applicant.get("date_of_birth"))
        return self._answer(
            file_found=True, score=300 + int(key[:8], 16) % 551, model=model, bureau=self.name, source="hash"
        )


class SimulatedIncomeService(SimulatedService):
    """SIMULATED income verification. See the module docstring."""

    interface = "IncomeService"

    def verify_income(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("verify_income")
        applicant = _applicant(payload)
        methods = payload.get("methods") or ["bank_statements"]
        monthly = _number(applicant.get("monthly_income"))
        if monthly is None:
            annual = _number(applicant.get("annual_income"))
            monthly = annual / 12 if annual is not None else None
        if monthly is None:
            return self._answer(
                verified=False, monthly_income=None, method=None, reason="no income declared to verify"
            )
        if monthly <= 0:
            return self._answer(
                verified=False, monthly_income=monthly, method=None, reason="declared income is not positive"
            )
        return self._answer(verified=True, monthly_income=round(monthly, 2), method=methods[0], reason=None)


class SimulatedDebtService(SimulatedService):
    """SIMULATED debt aggregation. See the module docstring."""

    interface = "DebtService"

    def monthly_debt(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("monthly_debt")
        applicant = _applicant(payload)
        include_mortgage = bool(payload.get("include_mortgage", True))
        debt = max(_number(applicant.get("monthly_debt")) or 0.0, 0.0)
        mortgage = max(_number(applicant.get("monthly_mortgage")) or 0.0, 0.0)
        breakdown = {"declared_debt": round(debt, 2)}
        if include_mortgage:
            breakdown["mortgage"] = round(mortgage, 2)
        return self._answer(monthly_debt=round(sum(breakdown.values()), 2), breakdown=breakdown)


_STREET_WORDS = {
    "street": "St",
    "st": "St",
    "avenue": "Ave",
    "ave": "Ave",
    "av": "Ave",
    "road": "Rd",
    "rd": "Rd",
    "boulevard": "Blvd",
    "blvd": "Blvd",
    "drive": "Dr",
    "dr": "Dr",
    "lane": "Ln",
    "ln": "Ln",
    "court": "Ct",
    "ct": "Ct",
    "place": "Pl",
    "pl": "Pl",
    "terrace": "Ter",
    "parkway": "Pkwy",
    "highway": "Hwy",
    "circle": "Cir",
    "square": "Sq",
    "trail": "Trl",
    "way": "Way",
    "apartment": "Apt",
    "apt": "Apt",
    "suite": "Ste",
    "ste": "Ste",
    "unit": "Unit",
    "floor": "Fl",
    "north": "N",
    "south": "S",
    "east": "E",
    "west": "W",
    "northeast": "NE",
    "northwest": "NW",
    "southeast": "SE",
    "southwest": "SW",
    "n": "N",
    "s": "S",
    "e": "E",
    "w": "W",
}


def _street_word(word: str) -> str:
    bare = word.rstrip(".,").lower()
    if bare in _STREET_WORDS:
        return _STREET_WORDS[bare]
    if bare.isalpha():
        return bare[:1].upper() + bare[1:]
    return word.rstrip(",").lower() if word[:1].isdigit() else word.rstrip(",")


class SimulatedAddressService(SimulatedService):
    """SIMULATED address standardisation (USPS style). See the module docstring."""

    interface = "AddressService"

    def normalize_address(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("normalize_address")
        street = _text(payload.get("address"))
        if not street:
            return self._answer(standardized=False, notes=["no street line"])
        notes: list[str] = []
        standard_street = " ".join(_street_word(word) for word in street.split())
        city = _text(payload.get("city"))
        city = " ".join(w[:1].upper() + w[1:].lower() for w in city.split()) if city else ""
        state = state_code(payload.get("state")) or _text(payload.get("state"))
        zip_raw = payload.get("zip_code")
        zip_code = (
            str(zip_raw).zfill(5)
            if isinstance(zip_raw, int) and not isinstance(zip_raw, bool)
            else _text(zip_raw)
        )
        if zip_code and (not city or not state):
            try:
                found = zipcodes.matching(zip_code)
            except (ValueError, TypeError):
                found = []
                notes.append(f"ZIP code {zip_code!r} is malformed")
            if found:
                if not city:
                    city = found[0]["city"]
                    notes.append("city filled in from the ZIP code")
                if not state:
                    state = found[0]["state"]
                    notes.append("state filled in from the ZIP code")
        return self._answer(
            standardized=True,
            address=standard_street,
            city=city or None,
            state=state or None,
            zip_code=zip_code or None,
            notes=notes,
        )


class SimulatedAuditService(SimulatedService):
    """SIMULATED audit store: keeps the last 1,000 records in memory. See the module docstring."""

    interface = "AuditService"

    def __init__(self, name: str = "default", **options: Any):
        super().__init__(name, **options)
        self.records: deque[dict[str, Any]] = deque(maxlen=1000)

    def record(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("record")
        canonical = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        audit_id = f"AUD-{_digest(canonical)[:12].upper()}"
        self.records.append({"audit_id": audit_id, **payload})
        run = payload.get("run")
        return self._answer(audit_id=audit_id, stored_at=run.get("now") if isinstance(run, Mapping) else None)


class SimulatedNotificationService(SimulatedService):
    """SIMULATED notification sender: sends nothing, keeps the last 1,000 messages. See the module docstring."""

    interface = "NotificationService"

    def __init__(self, name: str = "default", **options: Any):
        super().__init__(name, **options)
        self.sent: deque[dict[str, Any]] = deque(maxlen=1000)

    def send(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("send")
        message_id = (
            "MSG-"
            + _digest(payload.get("channel"), payload.get("recipient"), payload.get("template"))[:12].upper()
        )
        self.sent.append({"message_id": message_id, **payload})
        return self._answer(message_id=message_id, status="queued")


SIMULATED_ADAPTERS: dict[str, type[SimulatedService]] = {
    cls.interface: cls
    for cls in (
        SimulatedKYCService,
        SimulatedSanctionsService,
        SimulatedPEPService,
        SimulatedRiskEngine,
        SimulatedCreditBureau,
        SimulatedIncomeService,
        SimulatedDebtService,
        SimulatedAddressService,
        SimulatedAuditService,
        SimulatedNotificationService,
    )
}


def simulated_adapter(
    interface: str, name: str = "default", *, latency_ms: float = 0, failure_rate: float = 0.0, seed: int = 0
) -> SimulatedService:
    """A new simulated adapter for ``interface``; KeyError for an unknown interface."""
    return SIMULATED_ADAPTERS[interface](name, latency_ms=latency_ms, failure_rate=failure_rate, seed=seed)


def simulated_registry(latency_ms: float = 0, failure_rate: float = 0.0, seed: int = 0) -> ServiceRegistry:
    """A registry where every known interface, under any name, is a simulated adapter."""
    registry = ServiceRegistry()
    for interface, cls in SIMULATED_ADAPTERS.items():
        registry.bind_factory(
            interface, partial(cls, latency_ms=latency_ms, failure_rate=failure_rate, seed=seed)
        )
    return registry
