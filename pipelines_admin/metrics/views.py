import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from pipelines_admin.metrics.collectors import REGISTRY


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "backslashreplace")).digest()


def bearer_token_valid(request, expected: str) -> bool:
    """`Authorization: Bearer <expected>`, compared in constant time (digests of equal
    length, so not even the token's length shows)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(_digest(given.strip()), _digest(expected))


@login_not_required
@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics for a scraper holding METRICS_TOKEN (no login: a scraper cannot
    log in). 404 while METRICS_TOKEN is not set: the endpoint is off, never open."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return HttpResponse(
            "Not found: metrics are off until METRICS_TOKEN is set.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    if not bearer_token_valid(request, expected):
        response = HttpResponse(
            "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # the format the scraper asks for (Prometheus text, or OpenMetrics), as prometheus-client serves it
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(REGISTRY), content_type=content_type)
