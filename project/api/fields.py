"""Serializer fields that take JSON types as they are: no "5" for 5, no 1 for true, no 5 for "5"."""

from typing import Any

from rest_framework import serializers

# The widest integer a database column holds (signed 64 bits): a larger one is refused as invalid input, since
# it would overflow in the query instead.
LARGEST_INTEGER = 2**63 - 1


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (booleans and strings refused) that a 64-bit column holds, unless narrower bounds are set."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -LARGEST_INTEGER)
        kwargs.setdefault("max_value", LARGEST_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictCharField(serializers.CharField):
    """A JSON string."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# DRF's own representation of a datetime (ISO 8601 in the current time zone, ``Z`` for UTC), for read pages
# that build their items from ``values()`` rows instead of serializing model instances.
_DATETIME = serializers.DateTimeField()


def datetime_text(value: Any) -> Any:
    """A datetime as a ``DateTimeField`` of the page's serializer writes it (``None`` stays ``None``)."""
    return _DATETIME.to_representation(value)
