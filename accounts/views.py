from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, authenticate
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttle
from accounts.services import issue_token
from audit.models import AccessEvent
from audit.services import record_access
from radbot_web.network import client_address


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"Too many failed sign-in attempts. Try again in about {minutes} minute(s)."


def _refuse_if_locked(request, username: str) -> int:
    """Take a throttle place for this attempt; seconds locked (and a lock-out logged) when refused."""
    verdict = throttle.acquire(username=username, address=client_address(request))
    if verdict and verdict.first_refusal:
        record_access(
            action=AccessEvent.Action.LOCKED_OUT,
            user=AnonymousUser(),
            request=request,
            username=username,
            detail={"scope": throttle.LOGIN, "seconds": verdict.locked_for},
        )
    return verdict.locked_for


@method_decorator(never_cache, name="dispatch")
class ThrottledLoginView(LoginView):
    """The login page; also the admin's (see ``admin_login``), so both share one throttle."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")
        locked = _refuse_if_locked(request, username)
        if locked:
            # An unbound form: validating the posted one would check the password after all.
            form = self.get_form_class()(request=request, initial={"username": username})
            form.cleaned_data = {}
            form.add_error(None, _locked_message(locked))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttle.succeeded(
            username=self.request.POST.get("username", ""), address=client_address(self.request)
        )
        return super().form_valid(form)


@login_not_required
@never_cache
def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin site's login (AdminSite.login) through the throttled view and its counters."""
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    context.update(extra_context or {})
    request.current_app = site.name
    return ThrottledLoginView.as_view(
        extra_context=context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
        # A signed-in user without staff rights sees the form and why, as in Django's admin.
        redirect_authenticated_user=False,
    )(request)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


_DETAIL = inline_serializer("TokenError", fields={"detail": serializers.CharField()})


class ObtainTokenApi(APIView):
    """Exchange a username and password for an API token (throttled like the login page)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        summary="Issue an API token",
        description=(
            "Send it as `Authorization: Token <token>`. It is shown only in this answer (the server "
            "keeps a digest), expires at `expires`, and is revoked when the password or the roles "
            "of its user change. Failed attempts count towards the sign-in lock-out."
        ),
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "IssuedToken",
                fields={
                    "token": serializers.CharField(),
                    "expires": serializers.DateTimeField(),
                },
            ),
            400: OpenApiResponse(
                response=inline_serializer(
                    "TokenRefused",
                    fields={
                        "detail": serializers.CharField(required=False),
                        "username": serializers.ListField(
                            child=serializers.CharField(), required=False
                        ),
                        "password": serializers.ListField(
                            child=serializers.CharField(), required=False
                        ),
                    },
                ),
                description="Wrong username or password, or a field missing.",
                examples=[OpenApiExample("wrong", value={"detail": "Wrong username or password."})],
            ),
            415: OpenApiResponse(
                response=_DETAIL, description="A body that is not JSON or a form."
            ),
            429: OpenApiResponse(
                response=_DETAIL, description="Too many failed attempts: locked for a while."
            ),
        },
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        locked = _refuse_if_locked(request, username)
        if locked:
            return Response(
                {"detail": _locked_message(locked)}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        user = authenticate(request, username=username, password=body.validated_data["password"])
        if user is None:
            return Response(
                {"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST
            )
        throttle.succeeded(username=username, address=client_address(request))
        token, key = issue_token(user=user, request=request)
        return Response({"token": key, "expires": token.expires})
