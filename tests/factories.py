"""factory_boy factories for the catalog."""

import factory

from datasets.models import Dataset, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    creator = factory.SubFactory(UserFactory)
    workspace = factory.LazyAttribute(lambda dataset: dataset.creator.owned_workspaces.get(kind="USER"))
    name = factory.Sequence(lambda n: f"dataset-{n}")
    title = factory.LazyAttribute(lambda dataset: dataset.name.title())
