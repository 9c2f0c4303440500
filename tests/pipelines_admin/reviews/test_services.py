"""Working a review: claims, reveals, approvals by different reviewers, declines, the
reviewer role, the audit trail, and keeping a decided case as a test case."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import close_old_connections, connection

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.services import audit_verify
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.reviews import selectors, services
from pipelines_admin.reviews.models import ReviewCase, ReviewDisposition
from pipelines_admin.runs.records import record_decrypt
from tests.pipelines_admin.reviews.conftest import PEP_APPLICANT

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


# -- claims -------------------------------------------------------------------------------


def test_review_claim__free_case__held_by_the_reviewer_and_audited(review_run, reviewer):
    # Given a run in review nobody has worked yet
    run = review_run()
    assert not ReviewCase.objects.exists()
    # When a reviewer claims it
    case = services.review_claim(run=run, actor=reviewer)
    # Then its case exists, held by them, and the claim is in the audit trail
    assert case.claimed_by == reviewer and case.status == ReviewCase.Status.OPEN
    (event,) = events("review.claimed")
    assert event.actor == reviewer and event.object_id == str(run.pk) and event.pipeline == "onboarding"


def test_review_claim__held_by_another__conflict_naming_the_holder(review_run, reviewer, reviewer2):
    # Given a case claimed by one reviewer
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    # When a second reviewer claims it
    with pytest.raises(Conflict) as refused:
        services.review_claim(run=run, actor=reviewer2)
    # Then it is refused, naming who holds it, and the claim is unchanged
    assert refused.value.extra["claimed_by"] == "rita"
    assert ReviewCase.objects.get().claimed_by == reviewer


def test_review_claim__claimed_twice_by_the_holder__one_case_one_event(review_run, reviewer):
    # Given a reviewer holding a case / When they claim it again
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    services.review_claim(run=run, actor=reviewer)
    # Then nothing changes
    assert ReviewCase.objects.count() == 1 and len(events("review.claimed")) == 1


@pytest.mark.django_db(transaction=True)
def test_review_claim__two_reviewers_at_once__exactly_one_holds_it(
    released, environments, editor, reviewer, reviewer2
):
    # Given a run in review and two reviewers claiming it at the same moment, on two connections
    from tests.pipelines_admin.reviews.conftest import make_review_run

    run = make_review_run(released, environments["development"], editor)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(user):
        try:
            barrier.wait()
            services.review_claim(run=run, actor=user)
            outcomes[user.username] = "held"
        except Conflict:
            outcomes[user.username] = "refused"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (reviewer, reviewer2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one holds it and the other was refused; there is one case, and one claim event
    assert sorted(outcomes.values()) == ["held", "refused"]
    case = ReviewCase.objects.get()
    assert case.claimed_by.username == next(name for name, o in outcomes.items() if o == "held")
    assert len(events("review.claimed")) == 1


def test_review_release__holder__free_again_and_audited(review_run, reviewer, reviewer2):
    # Given a case held by a reviewer
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    # When another reviewer tries to release it, then the holder does
    with pytest.raises(NotAllowed):
        services.review_release(run=run, actor=reviewer2)
    case = services.review_release(run=run, actor=reviewer)
    # Then it is free, the release is audited, and the other reviewer can claim it
    assert case.claimed_by is None
    assert [e.data["claimed_by"] for e in events("review.released")] == ["rita"]
    assert services.review_claim(run=run, actor=reviewer2).claimed_by == reviewer2


def test_review_release__superuser__releases_anyones_claim(review_run, reviewer, superuser):
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    assert services.review_release(run=run, actor=superuser).claimed_by is None


def test_review_claim__run_not_in_review__conflict(released, environments, editor, reviewer):
    # Given a run that was never sent to review (still queued)
    from pipelines_admin.runs.services import run_submit

    run = run_submit(
        pipeline=released, environment=environments["development"], record=PEP_APPLICANT, actor=editor
    )
    # When a reviewer claims it / Then it is refused and no case is made
    with pytest.raises(Conflict):
        services.review_claim(run=run, actor=reviewer)
    assert not ReviewCase.objects.exists()


# -- roles --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor", "publisher"])
def test_review_decide__viewer_editor_or_publisher__not_allowed_and_nothing_written(
    review_run, request, role
):
    # Given a run in review and someone without the reviewer role
    run = review_run()
    user = request.getfixturevalue(role)
    before = AuditEvent.objects.count()
    # When they try to claim, reveal or decide
    for attempt in (
        lambda: services.review_claim(run=run, actor=user),
        lambda: services.review_reveal(run=run, actor=user, field="name", reason="to check the match"),
        lambda: services.review_decide(run=run, actor=user, decision="approve", reason_code="false_positive"),
    ):
        with pytest.raises(NotAllowed):
            attempt()
    # Then nothing is written
    assert not ReviewCase.objects.exists() and AuditEvent.objects.count() == before


def test_review_decide__editor_also_given_the_reviewer_role__decides(review_run, editor):
    # Given an editor who is also a reviewer (roles add up)
    from django.contrib.auth.models import Group

    editor.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    editor._console_roles = None
    # When they approve / Then it is approved
    case = services.review_decide(
        run=review_run(), actor=editor, decision="approve", reason_code="false_positive"
    )
    assert case.status == ReviewCase.Status.APPROVED


# -- dispositions -------------------------------------------------------------------------


def test_review_decide__one_approval_needed__approved_with_time_to_decision(review_run, reviewer):
    # Given a run in review needing one approval
    run = review_run()
    # When a reviewer approves it (without claiming first: deciding takes the claim)
    case = services.review_decide(
        run=run,
        actor=reviewer,
        decision="approve",
        reason_code="false_positive",
        note="Different birth date.",
    )
    # Then it is approved, timed from the submission, released, and the run's status stays review
    assert case.status == ReviewCase.Status.APPROVED and case.approvals == 1 and case.claimed_by is None
    assert case.decided_at is not None and 290 < case.decision_seconds < 400
    run.refresh_from_db()
    assert run.status == "review"
    (event,) = events("review.approved")
    assert event.data["reason_code"] == "false_positive" and event.data["decided"] is True
    assert event.reason == "Different birth date."
    # and it has left the queue
    assert list(selectors.review_queue()) == []


def test_review_decide__two_approvals_needed__first_leaves_it_open_second_reviewer_approves(
    review_run, reviewer, reviewer2
):
    # Given a run whose rule needs two different reviewers
    run = review_run(approvals=2)
    # When the first reviewer approves
    case = services.review_decide(
        run=run, actor=reviewer, decision="approve", reason_code="verified_identity"
    )
    # Then it is still open, one approval missing, still in the queue and free for another reviewer
    assert case.status == ReviewCase.Status.OPEN and case.approvals_missing == 1 and case.claimed_by is None
    assert list(selectors.review_queue()) == [run]
    # When a second reviewer approves
    case = services.review_decide(run=run, actor=reviewer2, decision="approve", reason_code="false_positive")
    # Then it is approved with two approvals
    assert case.status == ReviewCase.Status.APPROVED and case.approvals == 2
    assert [e.data["case_status"] for e in events("review.approved")] == ["open", "approved"]


def test_review_decide__same_reviewer_approves_twice__refused_and_still_one_approval(review_run, reviewer):
    # Given a two-approval case the reviewer approved already
    run = review_run(approvals=2)
    services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="verified_identity")
    # When they approve again, or try to claim it again
    with pytest.raises(Conflict, match="another reviewer"):
        services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="false_positive")
    with pytest.raises(Conflict):
        services.review_claim(run=run, actor=reviewer)
    # Then it still has one approval and is open
    case = ReviewCase.objects.get()
    assert case.approvals == 1 and case.status == ReviewCase.Status.OPEN
    assert ReviewDisposition.objects.count() == 1


def test_review_decide__decline_after_one_of_two_approvals__declined_for_good(
    review_run, reviewer, reviewer2
):
    # Given a two-approval case with one approval
    run = review_run(approvals=2)
    services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="verified_identity")
    # When the second reviewer declines it
    case = services.review_decide(
        run=run, actor=reviewer2, decision="decline", reason_code="confirmed_match", note="Same person."
    )
    # Then it is declined, and nothing more can be done with it
    assert case.status == ReviewCase.Status.DECLINED and case.decided_at is not None
    with pytest.raises(Conflict, match="declined already"):
        services.review_claim(run=run, actor=reviewer2)
    assert list(selectors.review_queue()) == []


def test_review_decide__reason_code_of_the_other_decision__invalid_and_nothing_written(review_run, reviewer):
    run = review_run()
    with pytest.raises(InvalidInput):
        services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="confirmed_match")
    with pytest.raises(InvalidInput):
        services.review_decide(run=run, actor=reviewer, decision="maybe", reason_code="false_positive")
    assert not ReviewDisposition.objects.exists() and not events("review.claimed")


def test_review_decide__while_another_holds_it__conflict(review_run, reviewer, reviewer2):
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    with pytest.raises(Conflict):
        services.review_decide(run=run, actor=reviewer2, decision="decline", reason_code="risk_too_high")
    assert not ReviewDisposition.objects.exists()


def test_review_decide__note_quoting_the_applicant__personal_values_masked_in_note_and_audit(
    review_run, reviewer
):
    # Given a reviewer whose note quotes the applicant's name and SSN
    run = review_run()
    note = "Quentin Zabriskie-Oyelaran is not the listed person; SSN 523-71-8846 checked."
    # When they approve with that note
    services.review_decide(
        run=run, actor=reviewer, decision="approve", reason_code="false_positive", note=note
    )
    # Then neither value is stored in the disposition nor the audit trail
    stored = ReviewDisposition.objects.get().note
    audited = json.dumps([e.hashed_fields() for e in AuditEvent.objects.all()])
    for value in ("Quentin Zabriskie-Oyelaran", "523-71-8846"):
        assert value not in stored and value not in audited
    assert "is not the listed person" in stored


# -- reveal -------------------------------------------------------------------------------


def test_review_reveal__masked_field_with_a_reason__clear_value_returned_audit_without_it(
    review_run, reviewer
):
    # Given a run in review whose input is stored masked
    run = review_run()
    assert run.input_masked["ssn"] != PEP_APPLICANT["ssn"]
    assert "ssn" in selectors.revealable_fields(run)
    # When a reviewer reveals the SSN with a reason
    value = services.review_reveal(run=run, actor=reviewer, field="ssn", reason="compare with the PEP list")
    # Then they get the clear value, and hold the case
    assert value == PEP_APPLICANT["ssn"]
    assert ReviewCase.objects.get().claimed_by == reviewer
    # and the audit event names the field and the reason, never the value
    (event,) = events("review.field_revealed")
    assert event.data["field"] == "ssn" and event.reason == "compare with the PEP list"
    trail = json.dumps([e.hashed_fields() for e in AuditEvent.objects.all()])
    assert PEP_APPLICANT["ssn"] not in trail
    # and the value is stored nowhere in clear: the run keeps it encrypted only
    run.refresh_from_db()
    assert PEP_APPLICANT["ssn"] not in json.dumps(run.input_masked) + json.dumps(run.result)
    assert record_decrypt(run.input_encrypted)["ssn"] == PEP_APPLICANT["ssn"]


def test_review_reveal__without_a_reason_or_unmasked_field__invalid_and_not_audited(review_run, reviewer):
    run = review_run()
    with pytest.raises(InvalidInput):
        services.review_reveal(run=run, actor=reviewer, field="ssn", reason=" ")
    with pytest.raises(InvalidInput, match="not a masked field"):
        services.review_reveal(run=run, actor=reviewer, field="nationality", reason="just curious, really")
    assert not events("review.field_revealed")


def test_review_reveal__held_by_another__conflict_and_not_audited(review_run, reviewer, reviewer2):
    run = review_run()
    services.review_claim(run=run, actor=reviewer)
    with pytest.raises(Conflict):
        services.review_reveal(run=run, actor=reviewer2, field="ssn", reason="compare with the list")
    assert not events("review.field_revealed")


# -- the audit chain ----------------------------------------------------------------------


def test_review_events__claim_reveal_release_and_decisions__chain_verifies(review_run, reviewer, reviewer2):
    # Given a full review: claim, reveal, release, then two approvals
    run = review_run(approvals=2)
    services.review_claim(run=run, actor=reviewer)
    services.review_reveal(run=run, actor=reviewer, field="name", reason="compare with the list")
    services.review_release(run=run, actor=reviewer)
    services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="false_positive")
    services.review_decide(run=run, actor=reviewer2, decision="approve", reason_code="verified_identity")
    # Then each step is an event of the run, in order, and the chain verifies
    actions = list(
        AuditEvent.objects.filter(object_id=str(run.pk), action__startswith="review.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "review.claimed",
        "review.field_revealed",
        "review.released",
        "review.claimed",
        "review.approved",
        "review.claimed",
        "review.approved",
    ]
    checked, problems = audit_verify()
    assert checked >= len(actions) and problems == []


# -- approvals from the result ------------------------------------------------------------


@pytest.mark.parametrize(("approvals", "expected"), [(None, 1), (1, 1), (2, 2), (3, 3), (7, 3), (0, 1)])
def test_approvals_required__from_the_results_decision__default_one_bounded_to_three(
    review_run, approvals, expected
):
    assert selectors.approvals_required(review_run(approvals=approvals)) == expected


# -- save as test case --------------------------------------------------------------------


def test_review_save_as_test_case__approved__expects_passed_with_the_clear_input(
    review_run, reviewer, editor
):
    # Given an approved case
    run = review_run()
    services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="false_positive")
    # When an editor keeps it as a test case with the default expectation
    case = services.review_save_as_test_case(run=run, actor=editor)
    # Then it expects passed, holds the application in full (encrypted) and names the review
    assert case.expected_masked == {"status": "passed"}
    assert record_decrypt(case.input_encrypted) == PEP_APPLICANT
    assert case.source_run_id == run.pk and "approved by rita" in case.description


def test_review_save_as_test_case__declined_expecting_review__expects_review(review_run, reviewer, editor):
    run = review_run()
    services.review_decide(run=run, actor=reviewer, decision="decline", reason_code="confirmed_match")
    assert services.review_save_as_test_case(run=run, actor=editor).expected_masked == {"status": "failed"}
    again = services.review_save_as_test_case(run=run, actor=editor, expect="review")
    assert again.expected_masked == {"status": "review"} and again.name.endswith("(2)")
    with pytest.raises(InvalidInput):
        services.review_save_as_test_case(run=run, actor=editor, expect="passed")


def test_review_save_as_test_case__open_case_or_reviewer_without_editor_role__refused(review_run, reviewer):
    run = review_run()
    with pytest.raises(InvalidInput, match="Decide"):
        services.review_save_as_test_case(run=run, actor=reviewer)
    services.review_decide(run=run, actor=reviewer, decision="approve", reason_code="false_positive")
    with pytest.raises(NotAllowed):
        services.review_save_as_test_case(run=run, actor=reviewer)
