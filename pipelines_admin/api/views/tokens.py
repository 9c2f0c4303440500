"""Personal API tokens: list yours, create one (the secret is in this answer only),
revoke one. Creating needs your password (HTTP Basic) or a console session: a token
cannot mint more tokens, so revoking a leaked token is enough."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from pipelines_admin.api.authentication import ApiTokenAuthentication
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.schema import error_response
from pipelines_admin.core.errors import NotAllowed
from pipelines_admin.tokens.models import ApiToken
from pipelines_admin.tokens.selectors import token_get, token_list
from pipelines_admin.tokens.services import token_create, token_revoke


class TokenSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The secret's first characters, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(
        help_text="The secret: send it as `Authorization: Bearer <token>`. Shown only "
        "in this answer; only its hash is kept."
    )


class TokenViewBase(ApiView):
    # Basic first: a client without credentials is told to send a username and password
    authentication_classes = [BasicAuthentication, ApiTokenAuthentication, SessionAuthentication]
    # tokens are the user's own credentials: no console role is needed to manage them
    permission_classes = [IsAuthenticated]


class TokenListView(TokenViewBase):
    class CreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100, help_text="What it is for, e.g. “release job in CI”.")

    @extend_schema(
        operation_id="tokens_list",
        summary="List your API tokens",
        description="Newest first, revoked ones included; never their secrets.",
        responses={200: TokenSerializer(many=True)},
    )
    def get(self, request):
        return Response(TokenSerializer(token_list(request.user), many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        summary="Create an API token",
        description="Authenticate with your username and password (HTTP Basic) or a console session; "
        "not with a token (403). The secret is in this answer only.",
        request=CreateInput,
        responses={201: CreatedTokenSerializer, 403: error_response("Tokens cannot create tokens.")},
    )
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            raise NotAllowed(
                "Create tokens with your password (HTTP Basic) or in the console, not with a token."
            )
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = token_create(user=request.user, name=data.validated_data["name"])
        token = created.token
        token.token = created.secret
        return Response(
            CreatedTokenSerializer(token).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


class TokenDetailView(TokenViewBase):
    @extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke one of your API tokens",
        description="It stops working at once; it stays listed as revoked.",
        responses={204: None, 400: error_response("The token is already revoked.")},
    )
    def delete(self, request, token_id):
        token_revoke(token=token_get(request.user, token_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
