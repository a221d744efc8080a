from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.presence_left import PresenceLeft


T = TypeVar("T", bound="PresenceLeftEvent")


@_attrs_define
class PresenceLeftEvent:
    """`event: presence.left`: `data` is a `PresenceLeft`, sent as its JSON text.

    Attributes:
        event (Literal['presence.left']):
        id (str): The log position after this event: send it back as `Last-Event-ID` to resume after it.
        data (PresenceLeft): The payload of `presence.left`: the user's last stream of the room closed, and the
            grace period (`--presence-grace`) passed without a new one.
        retry (int | Unset): Milliseconds to wait before reconnecting (`retry:`), when the server sends a new hint.
    """

    event: Literal["presence.left"]
    id: str
    data: PresenceLeft
    retry: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event = self.event

        id = self.id

        data = self.data.to_dict()

        retry = self.retry

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
                "id": id,
                "data": data,
            }
        )
        if retry is not UNSET:
            field_dict["retry"] = retry

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.presence_left import PresenceLeft  # noqa: PLC0415

        d = dict(src_dict)
        event = cast(Literal["presence.left"], d.pop("event"))
        if event != "presence.left":
            raise ValueError(f"event must match const 'presence.left', got '{event}'")

        id = d.pop("id")

        data = PresenceLeft.from_dict(d.pop("data"))

        retry = d.pop("retry", UNSET)

        presence_left_event = cls(
            event=event,
            id=id,
            data=data,
            retry=retry,
        )

        presence_left_event.additional_properties = d
        return presence_left_event

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
