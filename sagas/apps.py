from django.utils.module_loading import autodiscover_modules

from edn_core import apps


class SagasConfig(apps.ServiceAppConfig):
    name = "sagas"

    def ready(self):
        # Saga definitions live in the project's apps (<app>/sagas.py, as admin.py for the
        # admin); they must be registered before sagas.events derives the subscriptions.
        autodiscover_modules("sagas")
        super().ready()
        from edn_core.bus.worker import every
        from sagas.commands import ExpireOverdueSteps, expire_overdue_steps

        # Every bus worker of a process hosting sagas also fails overdue steps (and Celery
        # beat runs sagas.expire_overdue_steps); optimistic concurrency makes them agree.
        every(1.0, lambda: expire_overdue_steps(ExpireOverdueSteps()), name="sagas.timeouts")
