from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Here, not at the top: these import models, which load after the app configs.
        from accounts import receivers
        from accounts.services import ensure_roles

        receivers.connect()

        # Groups are data the code depends on: keep them in step after every migrate.
        post_migrate.connect(lambda **kwargs: ensure_roles(), dispatch_uid="accounts.ensure_roles")
