"""The console page where users create, see and revoke their API tokens."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from pipelines_admin.core.errors import ServiceError
from pipelines_admin.tokens.forms import TokenCreateForm
from pipelines_admin.tokens.selectors import token_get, token_list
from pipelines_admin.tokens.services import token_create, token_revoke


@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenCreateForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = token_create(user=request.user, name=form.cleaned_data["name"])
                form = TokenCreateForm()
            except ServiceError as exc:
                form.add_error("name", exc.message)
                status = exc.status
        else:
            status = 400
    # the secret is rendered in this response only: it is never stored, so never shown again
    context = {"section": "tokens", "form": form, "created": created, "tokens": token_list(request.user)}
    response = render(request, "tokens/tokens.html", context, status=status)
    if created is not None:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def revoke(request, token_id):
    try:
        token = token_revoke(token=token_get(request.user, token_id), actor=request.user)
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("tokens:list")
