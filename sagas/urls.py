from edn_core.cqrs.routes import resource
from sagas.api import SagaCommands, SagaQueries

urlpatterns = resource(
    "sagas",
    commands=SagaCommands,
    queries=SagaQueries,
    basename="sagas",
    actions=("cancel", "retry"),
)
