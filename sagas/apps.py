from edn_core import apps


class SagasConfig(apps.ServiceAppConfig):
    name = "sagas"

    def ready(self):
        super().ready()
        from edn_core.bus.worker import every
        from sagas.commands import ExpireOverdueSteps, expire_overdue_steps

        # Every bus worker of a process hosting sagas also fails overdue steps (and Celery
        # beat runs sagas.expire_overdue_steps); optimistic concurrency makes them agree.
        every(1.0, lambda: expire_overdue_steps(ExpireOverdueSteps()), name="sagas.timeouts")
