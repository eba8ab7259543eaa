import factory

from edn_core.cqrs import send
from inventory import commands


class CreateProductFactory(factory.Factory):
    """Builds a CreateProduct command; ``create()`` sends it and returns the aggregate."""

    class Meta:
        model = commands.CreateProduct

    description = factory.Faker("word")
    amount_available = 9

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        result = send(model_class(*args, **kwargs))
        assert result.accepted, result
        return result.value
