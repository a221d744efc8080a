from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.typing import Typing


T = TypeVar("T", bound="TypingEvent")


@_attrs_define
class TypingEvent:
    """`event: typing`: `data` is a `Typing`, sent as its JSON text. Ephemeral: no `id`, never stored or replayed.

    Attributes:
        event (Literal['typing']):
        data (Typing): The payload of `typing` (ephemeral: no `id:`, never replayed): show "bob is typing…"
            until `expires_in_ms` after the last one received.
        retry (int | Unset): Milliseconds to wait before reconnecting (`retry:`), when the server sends a new hint.
    """

    event: Literal["typing"]
    data: Typing
    retry: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event = self.event

        data = self.data.to_dict()

        retry = self.retry

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
                "data": data,
            }
        )
        if retry is not UNSET:
            field_dict["retry"] = retry

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.typing import Typing  # noqa: PLC0415

        d = dict(src_dict)
        event = cast(Literal["typing"], d.pop("event"))
        if event != "typing":
            raise ValueError(f"event must match const 'typing', got '{event}'")

        data = Typing.from_dict(d.pop("data"))

        retry = d.pop("retry", UNSET)

        typing_event = cls(
            event=event,
            data=data,
            retry=retry,
        )

        typing_event.additional_properties = d
        return typing_event

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
