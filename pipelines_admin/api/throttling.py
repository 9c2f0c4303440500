"""Per-user request rates. Rates come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(API_THROTTLE_USER in the environment), read on every request so a test or a settings
change takes effect at once. Counts live in Django's cache: use a shared cache (Redis) in
production so every web process counts the same requests."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class PerUserThrottle(UserRateThrottle):
    scope = "user"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
