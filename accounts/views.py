from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttle


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"Too many failed sign-in attempts. Try again in about {minutes} minute(s)."


@method_decorator(never_cache, name="dispatch")
class ThrottledLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")
        address = throttle.client_address(request)
        locked = throttle.seconds_locked(username=username, address=address)
        if locked:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _locked_message(locked))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(
            username=self.request.POST.get("username", ""),
            address=throttle.client_address(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.clear(
            username=form.get_user().get_username(),
            address=throttle.client_address(self.request),
        )
        return super().form_valid(form)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class ObtainTokenApi(APIView):
    """Exchange a username and password for an API token (throttled like the login page)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        address = throttle.client_address(request)
        locked = throttle.seconds_locked(username=username, address=address)
        if locked:
            return Response({"detail": _locked_message(locked)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        user = authenticate(request, username=username, password=body.validated_data["password"])
        if user is None:
            throttle.record_failure(username=username, address=address)
            return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
        throttle.clear(username=username, address=address)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
