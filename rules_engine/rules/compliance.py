"""Compliance rules: identity verification (KYC), sanctions and PEP screening, AML risk.

Each calls an outside service through the service registry. When a service fails the
rule raises, so the executor reports ``error``/``timeout`` (and may retry); a rule
never turns a service outage into a pass or a fail.

Details other rules read (``ctx.find_detail``):

- ``identity_confidence`` (0..1, KYC): used by the risk score.
- ``sanctions_matches`` / ``sanctions_near_matches`` (lists, sanctions screening).
- ``pep_matches`` (list, PEP screening): used by the AML assessment.
- ``aml_risk_score`` (0..1, higher is riskier, AML): used by the risk score.
- ``manual_review`` (true) with ``review_reason``: a compliance rule asks for a person
  to look at the application; the notification rule then sends the review template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rules_engine.rule import Rule, RuleContext, Verdict, failed, passed, skipped
from rules_engine.rules import params as p
from rules_engine.rules.data_quality import alias_doc
from rules_engine.rules.record_values import full_name, pick
from rules_engine.rules.service_responses import call_service, require_bool, require_list, require_number
from rules_engine.services.registry import ServiceRef

__all__ = [
    "KYCIdentityRule",
    "KYCComplianceRule",
    "SanctionsScreeningRule",
    "OFACSanctionsRule",
    "PEPScreeningRule",
    "AMLRiskRule",
    "RULE_CLASSES",
]

VERIFICATION_LEVELS = ["basic", "standard", "enhanced"]
DOCUMENT_TYPES = ["drivers_license", "passport", "state_id", "military_id", "permanent_resident_card"]
_NAME_FIELDS = ("name", "first_name", "middle_name", "last_name")


# ---------------------------------------------------------------- KYC

_KYC_PROPERTIES = {
    "verification_level": p.prop(
        "string",
        "Verification level",
        "basic: name and SSN; standard: also date of birth and address; enhanced: also an identity "
        "document check.",
        enum=VERIFICATION_LEVELS,
        default="standard",
    ),
    "document_types": p.prop(
        "array",
        "Accepted documents",
        "The identity documents the applicant may present.",
        items={"type": "string", "enum": DOCUMENT_TYPES},
        minItems=1,
        uniqueItems=True,
        default=["drivers_license"],
    ),
    "minimum_confidence": p.probability(
        "Minimum confidence",
        "The lowest identity-match confidence (0 to 1) accepted as verified.",
        default=0.7,
    ),
}

_KYC_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name",
    "date_of_birth",
    "ssn",
    "address",
    "city",
    "state",
    "zip_code",
    "country",
    "document_type",
    "document_number",
)


class KYCIdentityRule(Rule):
    """Identity verification (KYC): asks the KYC service to confirm the applicant is who
    they say they are, from name, date of birth, SSN, address and an identity document.

    - Passes: the service verified the identity with at least the minimum confidence.
      The details carry the verification reference and ``identity_confidence``.
    - Fails: the service could not verify the identity (the message gives its reasons,
      for example a missing or never-issued SSN), or verified it with too little
      confidence.
    - Errors: the KYC service failed or timed out (the run may retry).
    """

    service_params = {"kyc_service": "KYCService"}
    params_schema = p.rule_schema(
        "Identity verification (KYC)",
        "Verify the applicant's identity through the KYC service.",
        {
            "kyc_service": p.service_ref("KYCService", "KYC service", "The identity verification service."),
            **_KYC_PROPERTIES,
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.level = self.params.get("verification_level", "standard")
        self.documents = list(self.params.get("document_types", ["drivers_license"]))
        self.minimum_confidence = float(self.params.get("minimum_confidence", 0.7))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        label = "the KYC service"
        result = call_service(
            self.services["kyc_service"],
            "verify_identity",
            {
                "applicant": pick(data, _KYC_FIELDS),
                "verification_level": self.level,
                "document_types": self.documents,
            },
            label,
        )
        verified = require_bool(result, "verified", label)
        confidence = require_number(result, "confidence", label, 0, 1)
        reasons = [str(reason) for reason in result.get("reasons") or []]
        details = {
            "verification_id": result.get("verification_id"),
            "identity_confidence": confidence,
            "verification_level": self.level,
            "reasons": reasons,
        }
        if not verified:
            return failed("identity not verified: " + ("; ".join(reasons) or "no reason given"), details)
        if confidence < self.minimum_confidence:
            return failed(
                f"identity verified with confidence {confidence:.2f}, below the minimum "
                f"{self.minimum_confidence:.2f}",
                details,
            )
        return passed(
            f"identity verified (confidence {confidence:.2f}, reference {details['verification_id']})",
            details,
        )


class KYCComplianceRule(KYCIdentityRule):
    __doc__ = alias_doc(KYCIdentityRule, "KYC compliance") + (
        " The KYC service is named by ``service_name`` (the binding's name) instead of a service reference."
    )

    service_params: ClassVar[dict[str, str]] = {}
    params_schema = p.rule_schema(
        "KYC compliance",
        "Verify the applicant's identity through the KYC service.",
        {
            "service_name": p.prop(
                "string",
                "KYC service name",
                "The name of the KYCService binding to call, for example 'primary_kyc'.",
                pattern=r"^[A-Za-z0-9_.\-]+$",
                default="default",
            ),
            **_KYC_PROPERTIES,
        },
    )

    @classmethod
    def service_refs(cls, params: Mapping[str, Any]) -> dict[str, ServiceRef]:
        return {"kyc_service": ServiceRef("KYCService", params.get("service_name", "default"))}


# ---------------------------------------------------------------- sanctions

_LEVEL_THRESHOLDS = {"basic": 0.95, "standard": 0.90, "enhanced": 0.85}
#: How far below the threshold a name match still goes to manual review.
REVIEW_BAND = 0.10
_SCREEN_FIELDS = ("name", "first_name", "middle_name", "last_name", "date_of_birth", "country", "nationality")


def _match_text(match: Mapping[str, Any]) -> str:
    listed, matched = match.get("name"), match.get("matched_name")
    alias = f" (as {matched!r})" if matched and matched != listed else ""
    return f"{listed!r}{alias} on {match.get('list')} (score {match.get('score')})"


class SanctionsScreeningRule(Rule):
    """Sanctions screening: asks the sanctions service whether the applicant's name
    matches a person on a sanctions list, allowing for spelling variants (fuzzy name
    matching, scored 0 to 1; aliases are screened too except at the basic level).

    - Passes: no listed name scores at or above ``match_threshold``. A name scoring
      just below (within 0.10) passes but is flagged for manual review; with
      ``on_flag: review`` that sends the application to a person.
    - Fails: a listed name scores at or above the threshold (a possible match; the
      message names it, its list and its score).
    - Skips (and asks for manual review): the record has no name to screen.
    - Errors: the sanctions service failed or timed out.

    ``screening_level`` sets the default threshold: basic 0.95 (names only),
    standard 0.90, enhanced 0.85 (names and aliases). ``include_historical`` also screens
    entries that have since been removed from their list.
    """

    service_params = {"screening_service": "SanctionsService"}
    default_lists: tuple[str, ...] | None = None  # None: every list the service holds
    params_schema = p.rule_schema(
        "Sanctions screening",
        "Screen the applicant's name against sanctions lists.",
        {
            "screening_service": p.service_ref(
                "SanctionsService", "Sanctions service", "The sanctions screening service."
            ),
            "screening_level": p.prop(
                "string",
                "Screening level",
                "basic: names only, threshold 0.95; standard: names and aliases, 0.90; enhanced: names and "
                "aliases, 0.85. An explicit match threshold overrides the level's.",
                enum=list(_LEVEL_THRESHOLDS),
                default="standard",
            ),
            "match_threshold": p.probability(
                "Match threshold",
                "The name-similarity score (0 to 1) from which a listed name counts as a "
                "match. Defaults to the screening level's threshold.",
                examples=[0.9],
            ),
            "include_historical": p.prop(
                "boolean",
                "Include delisted entries",
                "Also screen entries since removed from their list.",
                default=False,
            ),
            "lists": p.prop(
                "array",
                "Lists",
                "The sanctions lists to screen against. Default: every list.",
                items={"type": "string", "minLength": 1},
                minItems=1,
                uniqueItems=True,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.level = self.params.get("screening_level", "standard")
        self.threshold = float(self.params.get("match_threshold", _LEVEL_THRESHOLDS[self.level]))
        self.include_historical = bool(self.params.get("include_historical", False))
        lists = self.params.get("lists", self.default_lists)
        self.lists = list(lists) if lists else None

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        name = full_name(data)
        if name is None:
            return skipped(
                "no name to screen; manual review needed",
                {"manual_review": True, "review_reason": "no name to screen against sanctions lists"},
            )
        label = "the sanctions service"
        result = call_service(
            self.services["screening_service"],
            "screen",
            {
                "applicant": pick(data, _SCREEN_FIELDS),
                "name": name,
                "lists": self.lists,
                "include_aliases": self.level != "basic",
                "include_historical": self.include_historical,
                "min_score": round(max(self.threshold - REVIEW_BAND, 0.0), 4),
            },
            label,
        )
        matches = require_list(result, "matches", label)
        for match in matches:
            require_number(match, "score", label, 0, 1)
        matches = sorted(matches, key=lambda m: -m["score"])
        hits = [dict(m) for m in matches if m["score"] >= self.threshold]
        near = [dict(m) for m in matches if m["score"] < self.threshold]
        details: dict[str, Any] = {
            "sanctions_matches": hits,
            "sanctions_near_matches": near,
            "match_threshold": self.threshold,
            "lists_checked": list(result.get("lists_checked") or self.lists or []),
        }
        if hits:
            more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
            return failed(f"possible sanctions match: {name!r} ~ {_match_text(hits[0])}{more}", details)
        if near:
            details["manual_review"] = True
            details["review_reason"] = f"near sanctions match {_match_text(near[0])}"
            return passed(
                f"no sanctions match at threshold {self.threshold:.2f}; near match "
                f"{_match_text(near[0])} flagged for manual review",
                details,
            )
        return passed(f"no sanctions match at threshold {self.threshold:.2f}", details)


class OFACSanctionsRule(SanctionsScreeningRule):
    __doc__ = alias_doc(SanctionsScreeningRule, "OFAC sanctions screening") + (
        " By default it screens the OFAC SDN list only (param ``lists`` changes that)."
    )

    default_lists = ("OFAC-SDN",)
    params_schema = {
        **SanctionsScreeningRule.params_schema,
        "title": "OFAC sanctions screening",
        "description": "Screen the applicant's name against the OFAC sanctions list.",
        "properties": {
            **SanctionsScreeningRule.params_schema["properties"],
            "lists": p.prop(
                "array",
                "Lists",
                "The sanctions lists to screen against. Default: OFAC-SDN.",
                items={"type": "string", "minLength": 1},
                minItems=1,
                uniqueItems=True,
                default=["OFAC-SDN"],
            ),
        },
    }


# ---------------------------------------------------------------- PEP

_CATEGORY_RANK = {"low": 0, "medium": 1, "high": 2}


class PEPScreeningRule(Rule):
    """PEP screening: asks the PEP service whether the applicant is a politically
    exposed person (a senior public official, or, with ``include_associates``, a
    relative or close associate of one), by fuzzy name matching.

    Which PEP categories matter is set either by ``risk_categories`` (a list, for
    example high and medium) or by ``risk_threshold`` (that category and above);
    ``risk_categories`` wins when both are given; by default medium and high matter.

    - Passes: no PEP match in a category that matters (other matches are listed in
      the details as ignored).
    - Fails: a match in a category that matters; the message names the person, the
      position and the category. Banks usually review such applicants (enhanced due
      diligence) rather than reject them: give this rule ``on_fail: review`` (and
      ``review.approvals: 2`` for four eyes) to send them to a person.
    - Skips (and asks for manual review): the record has no name to screen.
    - Errors: the PEP service failed or timed out.
    """

    service_params = {"pep_service": "PEPService"}
    params_schema = p.rule_schema(
        "PEP screening",
        "Screen the applicant against politically exposed persons.",
        {
            "pep_service": p.service_ref("PEPService", "PEP service", "The PEP screening service."),
            "risk_threshold": p.prop(
                "string",
                "Lowest category that matters",
                "PEP matches in this category or higher count. Ignored when risk categories are given.",
                enum=list(_CATEGORY_RANK),
                default="medium",
            ),
            "risk_categories": p.prop(
                "array",
                "Categories that matter",
                "The PEP categories whose matches count.",
                items={"type": "string", "enum": list(_CATEGORY_RANK)},
                minItems=1,
                uniqueItems=True,
            ),
            "include_associates": p.prop(
                "boolean",
                "Include relatives and associates",
                "Also match relatives and close associates of PEPs.",
                default=False,
            ),
            "match_threshold": p.probability(
                "Match threshold",
                "The name-similarity score (0 to 1) from which a name counts as a match.",
                default=0.85,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        categories = self.params.get("risk_categories")
        if categories:
            self.categories = [c for c in _CATEGORY_RANK if c in categories]
        else:
            floor = _CATEGORY_RANK[self.params.get("risk_threshold", "medium")]
            self.categories = [c for c, rank in _CATEGORY_RANK.items() if rank >= floor]
        self.include_associates = bool(self.params.get("include_associates", False))
        self.threshold = float(self.params.get("match_threshold", 0.85))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        name = full_name(data)
        if name is None:
            return skipped(
                "no name to screen; manual review needed",
                {"manual_review": True, "review_reason": "no name to screen against PEP lists"},
            )
        label = "the PEP service"
        result = call_service(
            self.services["pep_service"],
            "screen",
            {
                "applicant": pick(data, _SCREEN_FIELDS),
                "name": name,
                "include_associates": self.include_associates,
                "min_score": self.threshold,
            },
            label,
        )
        matches = require_list(result, "matches", label)
        for match in matches:
            require_number(match, "score", label, 0, 1)
        matches = sorted(
            (dict(m) for m in matches if m["score"] >= self.threshold), key=lambda m: -m["score"]
        )
        counted = [m for m in matches if m.get("category") in self.categories]
        ignored = [m for m in matches if m.get("category") not in self.categories]
        details = {
            "pep_matches": counted,
            "ignored_pep_matches": ignored,
            "considered_categories": self.categories,
        }
        if counted:
            top = counted[0]
            who = top.get("matched_name") or top.get("name")
            relation = top.get("relationship") or "self"
            role = "" if relation == "self" else f" ({relation})"
            return failed(
                f"PEP match: {name!r} ~ {who!r}{role}, {top.get('position')} "
                f"({top.get('country')}), category {top.get('category')}, score {top.get('score')}",
                details,
            )
        if ignored:
            return passed(
                f"no PEP match in categories {', '.join(self.categories)}; "
                f"{len(ignored)} match(es) in other categories ignored",
                details,
            )
        return passed(f"no PEP match in categories {', '.join(self.categories)}", details)


# ---------------------------------------------------------------- AML

AML_FACTORS = ["geographic_risk", "occupation_risk", "transaction_patterns", "pep_exposure"]
_AML_FIELDS = (
    "state",
    "country",
    "nationality",
    "occupation",
    "employer",
    "annual_income",
    "expected_monthly_deposits",
    "source_of_funds",
)


class AMLRiskRule(Rule):
    """AML risk assessment: asks the risk engine for an anti-money-laundering risk
    score (0 = no risk, 1 = highest), combining the chosen risk factors: where the
    applicant lives, their occupation, their expected transactions, and any PEP
    exposure found by the PEP screening.

    - Passes: the score is below ``max_risk_score``; from ``review_threshold`` up it
      passes but is flagged for manual review (``on_flag: review`` sends it to a person).
    - Fails: the score is at or above ``max_risk_score``; the message names the
      riskiest factor.
    - Errors: the risk engine failed or timed out.

    The details carry ``aml_risk_score`` (read by the risk score aggregation) and
    the score of each factor.
    """

    service_params = {"risk_engine": "RiskEngine"}
    params_schema = p.rule_schema(
        "AML risk assessment",
        "Score the applicant's money-laundering risk through the risk engine.",
        {
            "risk_engine": p.service_ref("RiskEngine", "Risk engine", "The AML risk scoring service."),
            "risk_factors": p.prop(
                "array",
                "Risk factors",
                "The factors the risk score combines.",
                items={"type": "string", "enum": AML_FACTORS},
                minItems=1,
                uniqueItems=True,
                default=["geographic_risk", "occupation_risk", "transaction_patterns"],
            ),
            "max_risk_score": p.probability(
                "Maximum risk score", "Scores at or above this fail (0 to 1).", default=0.7
            ),
            "review_threshold": p.probability(
                "Manual review from",
                "Scores at or above this (but below the maximum) pass and are flagged for manual review.",
                default=0.4,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.factors = list(
            self.params.get("risk_factors", ["geographic_risk", "occupation_risk", "transaction_patterns"])
        )
        self.maximum = float(self.params.get("max_risk_score", 0.7))
        self.review = float(self.params.get("review_threshold", 0.4))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        label = "the risk engine"
        pep_matches = ctx.find_detail("pep_matches") or []
        result = call_service(
            self.services["risk_engine"],
            "assess",
            {
                "applicant": pick(data, _AML_FIELDS),
                "factors": self.factors,
                "pep_match_count": len(pep_matches) if isinstance(pep_matches, list) else 0,
            },
            label,
        )
        score = round(require_number(result, "risk_score", label, 0, 1), 4)
        factors = result.get("factors")
        if not isinstance(factors, Mapping):
            factors = {}
        level = "high" if score >= self.maximum else "medium" if score >= self.review else "low"
        details: dict[str, Any] = {
            "aml_risk_score": score,
            "aml_risk_level": level,
            "aml_factors": dict(factors),
        }
        top = max(factors.items(), key=lambda item: item[1], default=None) if factors else None
        top_text = f" (highest: {top[0]} {top[1]})" if top else ""
        if level == "high":
            return failed(
                f"AML risk score {score:.2f} is at or above the limit {self.maximum:.2f}{top_text}", details
            )
        if level == "medium":
            details["manual_review"] = True
            details["review_reason"] = f"AML risk score {score:.2f} needs review"
            return passed(
                f"AML risk score {score:.2f} (medium){top_text}; flagged for manual review", details
            )
        return passed(f"AML risk score {score:.2f} (low)", details)


RULE_CLASSES = (
    KYCIdentityRule,
    KYCComplianceRule,
    SanctionsScreeningRule,
    OFACSanctionsRule,
    PEPScreeningRule,
    AMLRiskRule,
)
