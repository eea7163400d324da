"""The contract's events as validated dicts, for the fold: the models' checks, no objects.

Validating into a model builds an object per event (its ``__dict__``, the set of
fields given, ...) whose attributes the fold then reads one generic look-up at a
time. pydantic validates into a ``TypedDict`` for about a quarter less CPU, and
compiled code reads a dict with constant keys cheaply. These ``TypedDict`` types
are built from the models in :mod:`streams.events.models`, field for field (the
same annotations and constraints, in the same order, the same configuration, the
same check of an agent's reply), so there is one definition of the contract.
Fields with a default in a model are optional keys here (absent: the default).

The decoder accepts an event only as the models do: what this adapter refuses
goes to the models, whose error names the dead letter's reason
(tests/unit/test_records.py checks that both accept and refuse the same input).
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Annotated, Any, NotRequired

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from streams.events.models import TOPIC_EVENTS, Event, TicketReplied

_TYPED_DICT: Any = TypedDict
"""Called with a name known only at run time (the model's)."""
Record = dict[str, Any]
"""A validated event: field name -> value; optional fields may be absent."""


def _agent_named(record: Record) -> Record:
    """TicketReplied's model validator, for the dict."""
    if record["author"] == "agent" and record.get("agent") is None:
        raise PydanticCustomError("missing", "an agent reply needs the agent field")
    return record


def _typed_dict(model: type[BaseModel]) -> Any:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[name] = annotation if info.is_required() else NotRequired[annotation]
    shape = _TYPED_DICT(model.__name__, fields)
    shape.__pydantic_config__ = ConfigDict(**Event.model_config)
    if model is TicketReplied:
        return Annotated[shape, AfterValidator(_agent_named)]
    return shape


def _union(topic: str) -> Any:
    """The topic's discriminated union of models, as one of ``TypedDict`` types."""
    inner = typing.get_args(TOPIC_EVENTS[topic])[0]
    models = typing.get_args(inner) or (inner,)  # cc.quality has one event type
    shapes = tuple(_typed_dict(model) for model in models)
    union = typing.Union[shapes] if len(shapes) > 1 else shapes[0]  # noqa: UP007
    return Annotated[union, Field(discriminator="type")]


@cache
def record_adapter(topic: str) -> TypeAdapter[Record]:
    """Validates a topic's messages into :data:`Record` dicts (one per topic: building
    one takes about 2 ms, and every partition's decoder needs its topic's)."""
    return TypeAdapter(_union(topic))
