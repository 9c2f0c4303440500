"""Views that belong to no section of the console."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
@cache_control(public=True, max_age=24 * 3600)
def favicon(request):
    """/favicon.ico, which browsers ask for by themselves (the login page included): the
    console's icon, a static SVG file. Not a permanent redirect: its name may change."""
    return HttpResponseRedirect(static("favicon.svg"))
