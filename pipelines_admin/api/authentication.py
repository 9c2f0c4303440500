"""`Authorization: Bearer <token>` with a personal API token (see pipelines_admin.tokens)."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from pipelines_admin.tokens.services import token_authenticate

KEYWORD = b"bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticates a request carrying `Authorization: Bearer rcp_...`; leaves any other
    request to the next authentication class (the console's session)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed("The token is not valid.") from None
        token = token_authenticate(secret)
        if token is None:
            raise AuthenticationFailed("The token is not valid, or it was revoked.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # its presence makes DRF answer 401 (not 403) to requests without credentials
        return 'Bearer realm="api"'
