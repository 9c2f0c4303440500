"""The review of a run a rule sent to a person (run status "review").

A run's status stays "review" for good; its disposition lives here. A `ReviewCase` is
created the first time someone works the run (claims it, reveals a field or decides),
so nothing in the run-execution path knows about reviews: the queue is the runs in
review without a decided case. Each reviewer's approval or decline is a
`ReviewDisposition`; the case is decided when one reviewer declines, or when as many
different reviewers as the run's result asks for (`decision.review.approvals`) approve.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.runs.models import Run

APPROVE = "approve"
DECLINE = "decline"

#: the reason codes a reviewer picks from, per decision: code -> what it means
REASON_CODES = {
    APPROVE: {
        "false_positive": "False positive: not the listed person",
        "verified_identity": "Identity verified with documents",
        "acceptable_risk": "Risk understood and acceptable",
    },
    DECLINE: {
        "confirmed_match": "Confirmed match",
        "insufficient_information": "Insufficient information",
        "risk_too_high": "Risk too high",
    },
}


class ReviewCase(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        APPROVED = "approved"
        DECLINED = "declined"

    DECIDED = (Status.APPROVED, Status.DECLINED)

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="review_case")
    # the run's, copied so metrics and dashboards read cases without the runs
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    run_created_at = models.DateTimeField(help_text="When the application was submitted.")
    approvals_required = models.PositiveSmallIntegerField(
        default=1, help_text="Different reviewers who must approve (the run's decision.review.approvals)."
    )
    approvals = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_seconds = models.FloatField(
        null=True, blank=True, help_text="From the application's submission to the final disposition."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "decided_at"], name="review_case_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"review of run {self.run_id} ({self.status})"

    @property
    def decided(self) -> bool:
        return self.status in self.DECIDED

    @property
    def approvals_missing(self) -> int:
        return max(self.approvals_required - self.approvals, 0)


class ReviewDisposition(models.Model):
    class Decision(models.TextChoices):
        APPROVE = APPROVE
        DECLINE = DECLINE

    case = models.ForeignKey(ReviewCase, on_delete=models.CASCADE, related_name="dispositions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason_code = models.CharField(max_length=40)
    note = models.TextField(
        blank=True, help_text="The reviewer's note, the applicant's personal values masked."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # one disposition per reviewer and case: nobody approves twice
            models.UniqueConstraint(fields=["case", "reviewer"], name="review_disposition_once")
        ]

    def __str__(self) -> str:
        return f"{self.decision} ({self.reason_code}) of {self.case}"

    @property
    def reason_label(self) -> str:
        return REASON_CODES.get(self.decision, {}).get(self.reason_code, self.reason_code)
