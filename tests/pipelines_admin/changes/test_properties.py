"""Property: whatever happens to a change request, its environment and its pipeline's test
cases, in whatever order, the request applies exactly when an approval was given after
the last thing that changed what it produces or what it was tested against."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines_admin.changes import services
from pipelines_admin.changes.selectors import request_standing
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.core.errors import Conflict
from pipelines_admin.testcases import services as case_services
from tests.pipelines_admin.changes.test_services import open_release, suite_passes
from tests.pipelines_admin.conftest import ADULT

pytestmark = pytest.mark.django_db

STEPS = st.lists(st.sampled_from(["approve", "revise", "edit_case", "other_change"]), max_size=6)


class _Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_apply__any_order_of_events__applies_iff_approved_since_the_last_change(
    steps, live_pipeline, cases, controlled, publisher, publisher2, editor, superuser
):
    try:
        with transaction.atomic():
            suite_passes(live_pipeline, controlled, publisher, 2)
            request = open_release(live_pipeline, controlled, publisher)
            approved_since_change = False
            revisions = others = 0
            for step in steps:
                if step == "approve":
                    try:
                        services.change_request_approve(change_request=request, actor=publisher2)
                        approved_since_change = True
                    except Conflict:
                        assert approved_since_change  # only a standing approval refuses another
                elif step == "revise":
                    revisions += 1
                    request = services.change_request_revise(
                        change_request=request,
                        actor=publisher,
                        payload={"override": {"description": f"revision {revisions}"}},
                    )
                    approved_since_change = False
                elif step == "edit_case":
                    case = cases[0]
                    case_services.case_update(
                        case=case,
                        actor=editor,
                        name=case.name,
                        record=ADULT,
                        expected={"status": "passed"},
                    )
                    approved_since_change = False
                else:  # another change reaches production first: a release names its whole
                    # result (version and override), so its approval still stands
                    others += 1
                    other = services.change_submit(
                        kind="release",
                        pipeline=live_pipeline,
                        environment=controlled,
                        actor=superuser,
                        reason="incident",
                        gate_override=True,
                        version=1,
                        override={"description": f"hotfix {others}"},
                    ).change_request
                    services.change_request_break_glass(
                        change_request=other, actor=superuser, reason="incident"
                    )
                request.refresh_from_db()
            # The suite has to pass on what the request now produces and on the cases as they are
            suite_passes(live_pipeline, controlled, publisher, 2, override=request.payload["override"])
            standing = request_standing(request)
            assert standing.approved == approved_since_change, (steps, standing.blockers)
            if approved_since_change:
                services.change_request_apply(change_request=request, actor=publisher)
                assert release_live(live_pipeline, controlled).effective_hash == request.effective_hash
            else:
                with pytest.raises(services.ApplyRefused):
                    services.change_request_apply(change_request=request, actor=publisher)
            raise _Rollback
    except _Rollback:
        pass
