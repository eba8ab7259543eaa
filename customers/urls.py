from customers.api import CustomerCommands, CustomerQueries
from edn_core.cqrs.routes import resource

urlpatterns = resource(
    "customers", commands=CustomerCommands, queries=CustomerQueries, basename="customers"
)
