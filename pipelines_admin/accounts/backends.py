"""Login throttling (django-axes) for every login that comes with a request: the login
form, the admin's, and HTTP Basic on the API. `authenticate()` called without a request
(a script, the test client's `login()`) reaches no network and is not throttled."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # nothing to throttle: the next backend checks the password
        return super().authenticate(request, username=username, password=password, **kwargs)
