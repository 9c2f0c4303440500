"""Template tags of the review queue, for the pages that show a review without their
views knowing about it: the run page's disposition panel, the dashboards' review
figures and the backlog in the navigation."""

from __future__ import annotations

from django import template

from pipelines_admin.accounts.permissions import READ, can
from pipelines_admin.reviews import selectors

register = template.Library()


@register.simple_tag
def review_for(run):
    """The review of `run` (its case, dispositions, approvals), or None when it never went to review."""
    if run is None or getattr(run, "pk", None) is None:
        return None
    return selectors.review_of(run)


@register.simple_tag(takes_context=True)
def review_backlog(context) -> int | None:
    """How many applications wait in the review queue; None for people who may not read it."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not can(user, READ):
        return None
    return selectors.backlog_count()


@register.simple_tag
def review_dashboard(pipeline=None, environment=None, hours=24):
    return selectors.review_dashboard(pipeline=pipeline or None, environment=environment or None, hours=hours)


@register.filter
def duration(seconds):
    """Seconds as 3 min, 2 h 05 min or 3 d 4 h."""
    return selectors.duration_label(seconds)
