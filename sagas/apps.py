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
        from edn_core.cqrs import send
        from sagas.commands import ExpireOverdueSteps

        # Every bus worker of a process hosting sagas also fails overdue steps (and Celery
        # beat runs sagas.expire_overdue_steps); optimistic concurrency makes them agree.
        def expire_overdue_steps() -> None:
            send(ExpireOverdueSteps()).value_or_raise()

        every(1.0, expire_overdue_steps, name="sagas.timeouts")
        from edn_core.observability import collectors
        from sagas.metrics import figures

        collectors.register("sagas", figures)  # instances by state, at each scrape
