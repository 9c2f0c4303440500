"""Business rules: is this applicant eligible for the product?

Age, credit score, income, debt-to-income ratio and where the applicant lives.

Details other rules read (``ctx.find_detail``):

- ``credit_score`` (300..850, credit score rule): used by the risk score.
- ``monthly_income`` (income verification): used by the debt-to-income rule.
- ``geographic_risk`` (0..1, geographic eligibility): used by the risk score.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from rules_engine.geography import COUNTRY_LISTS, US_STATE_CODES, country_code, state_code
from rules_engine.rule import Rule, RuleContext, Verdict, failed, passed, skipped
from rules_engine.rules import params as p
from rules_engine.rules.data_quality import alias_doc
from rules_engine.rules.record_values import as_number, is_missing, pick, run_now, shown
from rules_engine.rules.service_responses import call_service, require_bool, require_number
from rules_engine.services.registry import ServiceRef

__all__ = [
    "AgeVerificationRule",
    "CreditScoreRule",
    "CreditScoreValidationRule",
    "IncomeVerificationRule",
    "DebtToIncomeRule",
    "GeographicEligibilityRule",
    "RULE_CLASSES",
]


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


# ---------------------------------------------------------------- age


def parse_date(value: Any) -> date | None:
    """A date from an ISO 8601 date or timestamp (text) or a date object; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class AgeVerificationRule(Rule):
    """Age verification: checks the applicant is at least ``minimum_age`` years old on
    the day of the run, from their date of birth in ISO format (YYYY-MM-DD).

    "Today" is the run's date (run context ``now``), else today's date in UTC.

    - Passes: the applicant is old enough.
    - Fails: the applicant is too young; the date of birth is in the future or gives
      an impossible age; with ``verification_strict`` on, the date is missing or not
      an ISO date.
    - Skips: with ``verification_strict`` off, the date is missing or not an ISO date
      (the application is then undecided, never passed: its age was not checked).
    """

    params_schema = p.rule_schema(
        "Age verification",
        "Check the applicant is old enough.",
        {
            "minimum_age": p.prop(
                "integer",
                "Minimum age",
                "The youngest age accepted, in whole years.",
                minimum=0,
                maximum=130,
                default=18,
            ),
            "date_field": p.field_name(
                "Date of birth field",
                "The record field holding the date of birth (YYYY-MM-DD).",
                default="date_of_birth",
            ),
            "verification_strict": p.prop(
                "boolean",
                "Strict",
                "Fail when the date of birth is missing or unreadable (otherwise "
                "the rule is skipped, and the application stays undecided: its age "
                "was not checked).",
                default=True,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.minimum_age = int(self.params.get("minimum_age", 18))
        self.field = self.params.get("date_field", "date_of_birth")
        self.strict = bool(self.params.get("verification_strict", True))

    def date_of_birth(self, data: Mapping[str, Any]) -> date | None:
        """The date of birth in ``data`` as this rule reads it (None: missing or not a date)."""
        return parse_date(data.get(self.field))

    @staticmethod
    def age(born: date, today: date) -> int:
        """Whole years from ``born`` to ``today``."""
        return age_on(born, today)

    def _unusable(self, message: str, reason: str) -> Verdict:
        details = {"field": self.field, "reason": reason}
        return failed(message, details) if self.strict else skipped(f"{message}; age not verified", details)

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return self._unusable(f"{field} is missing", "missing")
        born = parse_date(value)
        if born is None:
            return self._unusable(
                f"{field} {shown(value)} is not an ISO date (YYYY-MM-DD)", "not an ISO date"
            )
        today = run_now(ctx.run_context).date()
        if born > today:
            return failed(
                f"{field} {born.isoformat()} is in the future", {"field": field, "reason": "future date"}
            )
        age = age_on(born, today)
        details = {"age": age, "minimum_age": self.minimum_age}
        if age > 130:
            return failed(
                f"{field} {born.isoformat()} gives an impossible age of {age}",
                {**details, "reason": "implausible age"},
            )
        if age < self.minimum_age:
            return failed(f"applicant is {age}, younger than the minimum age {self.minimum_age}", details)
        return passed(f"applicant is {age}, at least {self.minimum_age}", details)


# ---------------------------------------------------------------- credit

SCORE_MODELS = ["FICO_8", "FICO_9", "FICO_10", "VantageScore_3", "VantageScore_4"]
BUREAUS = ["experian", "equifax", "transunion"]
_CREDIT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name",
    "ssn",
    "date_of_birth",
    "address",
    "city",
    "state",
    "zip_code",
    "credit_score",
)

_CREDIT_PROPERTIES = {
    "minimum_score": p.prop(
        "integer",
        "Minimum score",
        "The lowest credit score accepted (300 to 850).",
        minimum=300,
        maximum=850,
        default=650,
    ),
    "score_model": p.prop(
        "string",
        "Score model",
        "The scoring model to request from the bureau.",
        enum=SCORE_MODELS,
        default="FICO_8",
    ),
}


class CreditScoreRule(Rule):
    """Credit score: asks the credit bureau for the applicant's credit score and checks
    it reaches ``minimum_score``.

    - Passes: the score is at least the minimum; the details carry ``credit_score``.
    - Fails: the score is below the minimum, or the bureau holds no credit file for
      the applicant.
    - Errors: the bureau failed or timed out.
    """

    service_params = {"credit_bureau": "CreditBureau"}
    params_schema = p.rule_schema(
        "Credit score",
        "Check the applicant's credit score reaches the minimum.",
        {
            "credit_bureau": p.service_ref("CreditBureau", "Credit bureau", "The credit bureau to ask."),
            **_CREDIT_PROPERTIES,
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.minimum = int(self.params.get("minimum_score", 650))
        self.model = self.params.get("score_model", "FICO_8")

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        label = "the credit bureau"
        result = call_service(
            self.services["credit_bureau"],
            "credit_report",
            {"applicant": pick(data, _CREDIT_FIELDS), "score_model": self.model},
            label,
        )
        bureau = str(result.get("bureau") or "the credit bureau")
        if not require_bool(result, "file_found", label):
            return failed(
                f"no credit file found at {bureau}", {"bureau": bureau, "minimum_score": self.minimum}
            )
        score = int(require_number(result, "score", label, 300, 850))
        details = {
            "credit_score": score,
            "minimum_score": self.minimum,
            "score_model": result.get("model", self.model),
            "bureau": bureau,
        }
        if score < self.minimum:
            return failed(f"credit score {score} is below the minimum {self.minimum}", details)
        return passed(f"credit score {score} meets the minimum {self.minimum}", details)


class CreditScoreValidationRule(CreditScoreRule):
    __doc__ = alias_doc(CreditScoreRule, "Credit score validation") + (
        " The bureau is named by ``bureau`` (experian, equifax or transunion) instead of a service reference."
    )

    service_params: ClassVar[dict[str, str]] = {}
    params_schema = p.rule_schema(
        "Credit score validation",
        "Check the applicant's credit score reaches the minimum.",
        {
            "bureau": p.prop(
                "string",
                "Credit bureau",
                "The credit bureau to ask (its CreditBureau binding).",
                enum=BUREAUS,
                default="experian",
            ),
            **_CREDIT_PROPERTIES,
        },
    )

    @classmethod
    def service_refs(cls, params: Mapping[str, Any]) -> dict[str, ServiceRef]:
        return {"credit_bureau": ServiceRef("CreditBureau", params.get("bureau", "experian"))}


# ---------------------------------------------------------------- income and debt

_INCOME_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "ssn",
    "date_of_birth",
    "employer",
    "occupation",
    "annual_income",
    "monthly_income",
)


class IncomeVerificationRule(Rule):
    """Income verification: asks the income service to verify the applicant's income
    (from bank statements, pay stubs, tax returns or the employer) and checks the
    verified monthly income reaches ``minimum_monthly_income``.

    - Passes: the income was verified and reaches the minimum; the details carry
      ``monthly_income`` (used by the debt-to-income rule).
    - Fails: the income could not be verified (the message says why), or is below the
      minimum.
    - Errors: the income service failed or timed out.

    ``verification_method`` (one) and ``verification_methods`` (several, in order of
    preference) may both be given; the service uses the first that works.
    """

    service_params = {"verification_service": "IncomeService"}
    params_schema = p.rule_schema(
        "Income verification",
        "Verify the applicant's income and check it reaches the minimum.",
        {
            "verification_service": p.service_ref(
                "IncomeService", "Income service", "The income verification service."
            ),
            "verification_method": p.prop(
                "string", "Verification method", "How to verify the income.", enum=p.VERIFICATION_METHODS
            ),
            "verification_methods": p.prop(
                "array",
                "Verification methods",
                "Acceptable ways to verify the income, in order of preference.",
                items={"type": "string", "enum": p.VERIFICATION_METHODS},
                minItems=1,
                uniqueItems=True,
            ),
            "minimum_monthly_income": p.prop(
                "number",
                "Minimum monthly income",
                "The lowest verified monthly income accepted, in dollars.",
                minimum=0,
                default=0,
                examples=[3000],
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        methods: list[str] = []
        for method in [self.params.get("verification_method"), *self.params.get("verification_methods", [])]:
            if method and method not in methods:
                methods.append(method)
        self.methods = methods or ["bank_statements"]
        self.minimum = float(self.params.get("minimum_monthly_income", 0))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        label = "the income service"
        result = call_service(
            self.services["verification_service"],
            "verify_income",
            {"applicant": pick(data, _INCOME_FIELDS), "methods": self.methods},
            label,
        )
        if not require_bool(result, "verified", label):
            reason = result.get("reason") or "no reason given"
            return failed(
                f"income could not be verified: {reason}",
                {"reason": reason, "minimum_monthly_income": self.minimum},
            )
        income = round(float(require_number(result, "monthly_income", label, 0)), 2)
        method = result.get("method") or self.methods[0]
        details = {
            "monthly_income": income,
            "verification_method": method,
            "minimum_monthly_income": self.minimum,
        }
        if income < self.minimum:
            return failed(
                f"verified monthly income {_money(income)} is below the minimum {_money(self.minimum)}",
                details,
            )
        return passed(f"verified monthly income {_money(income)} ({method})", details)


_DEBT_FIELDS = ("first_name", "last_name", "name", "ssn", "date_of_birth", "monthly_debt", "monthly_mortgage")


class DebtToIncomeRule(Rule):
    """Debt-to-income ratio: divides the applicant's monthly debt payments (from the
    debt service, mortgage included unless ``include_mortgage`` is off) by their
    monthly income and checks the ratio does not exceed the maximum (0.43 is the
    usual US qualified-mortgage limit).

    Monthly income comes from the income verification rule when it has run, else from
    the record's ``monthly_income`` or ``annual_income`` / 12.

    - Passes: the ratio is at most the maximum.
    - Fails: the ratio is above the maximum, or the income is zero.
    - Skips: the monthly income is unknown.
    - Errors: the debt service failed or timed out.

    ``max_ratio`` and ``maximum_ratio`` are two names for the maximum; give one
    (``maximum_ratio`` wins if both are given).
    """

    transforms = False
    service_params = {"debt_service": "DebtService"}
    params_schema = p.rule_schema(
        "Debt-to-income ratio",
        "Check monthly debt payments are at most a share of monthly income.",
        {
            "maximum_ratio": p.prop(
                "number",
                "Maximum ratio",
                "The highest debt-to-income ratio accepted (0 to 1; 0.43 means 43%).",
                minimum=0,
                maximum=1,
                default=0.43,
            ),
            "max_ratio": p.prop(
                "number", "Maximum ratio (older name)", "Same as maximum_ratio.", minimum=0, maximum=1
            ),
            "include_mortgage": p.prop(
                "boolean", "Include mortgage", "Count mortgage payments as debt.", default=True
            ),
            "debt_service": p.service_ref(
                "DebtService", "Debt service", "The service reporting the applicant's monthly debt payments."
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.maximum = float(self.params.get("maximum_ratio", self.params.get("max_ratio", 0.43)))
        self.include_mortgage = bool(self.params.get("include_mortgage", True))

    def _monthly_income(self, data: Mapping[str, Any], ctx: RuleContext) -> tuple[float | None, str]:
        verified = ctx.find_detail("monthly_income")
        if isinstance(verified, (int, float)) and not isinstance(verified, bool):
            return float(verified), "income verification"
        monthly = as_number(data.get("monthly_income"))
        if monthly is not None:
            return monthly, "declared monthly_income"
        annual = as_number(data.get("annual_income"))
        if annual is not None:
            return annual / 12, "declared annual_income / 12"
        return None, ""

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        income, source = self._monthly_income(data, ctx)
        if income is None:
            return skipped(
                "monthly income is unknown (no income verification result, no declared income); "
                "ratio not computed",
                {"maximum_ratio": self.maximum},
            )
        label = "the debt service"
        result = call_service(
            self.services["debt_service"],
            "monthly_debt",
            {"applicant": pick(data, _DEBT_FIELDS), "include_mortgage": self.include_mortgage},
            label,
        )
        debt = round(float(require_number(result, "monthly_debt", label, 0)), 2)
        details: dict[str, Any] = {
            "monthly_debt": debt,
            "monthly_income": round(income, 2),
            "income_source": source,
            "maximum_ratio": self.maximum,
            "debt_breakdown": dict(result.get("breakdown") or {}),
        }
        if income <= 0:
            return failed(f"monthly income is {_money(income)}; no debt-to-income ratio can be met", details)
        ratio = round(debt / income, 4)
        details["debt_to_income_ratio"] = ratio
        figures = f"(monthly debt {_money(debt)} / income {_money(income)})"
        if ratio > self.maximum:
            return failed(
                f"debt-to-income ratio {ratio:.2f} is above the maximum {self.maximum:.2f} {figures}", details
            )
        return passed(
            f"debt-to-income ratio {ratio:.2f} is within the maximum {self.maximum:.2f} {figures}", details
        )


# ---------------------------------------------------------------- geography

_COUNTRY_ITEM_PATTERN = "^([A-Z]{2}|" + "|".join(sorted(COUNTRY_LISTS)) + ")$"


class GeographicEligibilityRule(Rule):
    """Geographic eligibility: checks the applicant lives where the product is offered:
    in one of ``allowed_states`` (US states, by USPS code), and not in a restricted
    country (ISO codes, or a named list such as ``sanctioned_countries``: Cuba, Iran,
    North Korea, Syria; an illustrative list to be kept by compliance).

    The state and country are read from the address when it is an object with
    ``state``/``country``, else from the record's state and country fields. A record
    without a country is taken as US (and the message says so).

    - Passes: the country is not restricted and the state is allowed. The details
      carry ``geographic_risk`` (0.1 in the US, 0.5 elsewhere, 1.0 restricted), used
      by the risk score.
    - Fails: restricted country; outside the US when states are listed; state missing,
      unknown or not allowed.
    """

    params_schema = p.rule_schema(
        "Geographic eligibility",
        "Check the applicant lives where the product is offered.",
        {
            "allowed_states": p.prop(
                "array",
                "Eligible states",
                "US states (USPS codes) where the product is offered. Omit to allow all.",
                items={"type": "string", "enum": US_STATE_CODES},
                minItems=1,
                uniqueItems=True,
            ),
            "restricted_countries": p.prop(
                "array",
                "Restricted countries",
                "ISO 3166-1 country codes (e.g. IR), or named lists: "
                + ", ".join(sorted(COUNTRY_LISTS))
                + ".",
                items={"type": "string", "pattern": _COUNTRY_ITEM_PATTERN},
                uniqueItems=True,
                default=[],
            ),
            "address_field": p.field_name(
                "Address field",
                "The record field holding the address; when it is an object its state and country are used.",
                default="address",
            ),
            "state_field": p.field_name(
                "State field", "The record field holding the state.", default="state"
            ),
            "country_field": p.field_name(
                "Country field", "The record field holding the country.", default="country"
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        allowed = self.params.get("allowed_states")
        self.allowed = tuple(allowed) if allowed else None
        self.allowed_set = frozenset(self.allowed or ())
        restricted: dict[str, str] = {}
        for item in self.params.get("restricted_countries", []):
            for code in sorted(COUNTRY_LISTS.get(item, {item})):
                restricted.setdefault(code, item)
        self.restricted = restricted  # code -> the entry that restricted it
        self.address_field = self.params.get("address_field", "address")
        self.state_field = self.params.get("state_field", "state")
        self.country_field = self.params.get("country_field", "country")

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        address = data.get(self.address_field)
        state_raw = country_raw = None
        if isinstance(address, Mapping):
            state_raw, country_raw = address.get("state"), address.get("country")
        if is_missing(state_raw):
            state_raw = data.get(self.state_field)
        if is_missing(country_raw):
            country_raw = data.get(self.country_field)
        assumed = is_missing(country_raw)
        country = "US" if assumed else country_code(country_raw)
        if country is None:
            return failed(
                f"country {shown(country_raw)} is not a recognised country code; eligibility cannot be "
                "determined",
                {"country": country_raw, "reason": "unknown country"},
            )
        if country in self.restricted:
            source = self.restricted[country]
            why = f" ({source})" if source != country else ""
            return failed(
                f"country {country} is restricted{why}",
                {"country": country, "reason": "restricted country", "geographic_risk": 1.0},
            )
        risk = 0.1 if country == "US" else 0.5
        details: dict[str, Any] = {"country": country, "country_assumed": assumed, "geographic_risk": risk}
        if self.allowed is None:
            state = state_code(state_raw)
            details["state"] = state
            return passed(f"country {country} is not restricted", details)
        if country != "US":
            return failed(
                f"country {country} is outside the United States; only residents of "
                f"{', '.join(self.allowed)} are eligible",
                {**details, "reason": "outside the US"},
            )
        if is_missing(state_raw):
            return failed(
                "state is missing; eligibility cannot be determined", {**details, "reason": "missing state"}
            )
        state = state_code(state_raw)
        if state is None:
            return failed(
                f"state {shown(state_raw)} is not a US state", {**details, "reason": "unknown state"}
            )
        details["state"] = state
        if state not in self.allowed_set:
            return failed(
                f"state {state} is not an eligible state (eligible: {', '.join(self.allowed)})",
                {**details, "reason": "state not eligible"},
            )
        suffix = " (country not given; taken as US)" if assumed else ""
        return passed(f"{state}, {country} is eligible{suffix}", details)


RULE_CLASSES = (
    AgeVerificationRule,
    CreditScoreRule,
    CreditScoreValidationRule,
    IncomeVerificationRule,
    DebtToIncomeRule,
    GeographicEligibilityRule,
)
