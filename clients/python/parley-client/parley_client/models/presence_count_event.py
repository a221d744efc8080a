from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.presence_count import PresenceCount


T = TypeVar("T", bound="PresenceCountEvent")


@_attrs_define
class PresenceCountEvent:
    """`event: presence.count`: `data` is a `PresenceCount`, sent as its JSON text. Ephemeral: no `id`, never stored or
    replayed.

        Attributes:
            event (Literal['presence.count']):
            data (PresenceCount): The payload of `presence.count` (ephemeral: no `id:`, never replayed): sent instead of
                joins and leaves to streams of a room with more than `--presence-large-room` members,
                at most once per 5 s, when the counts changed.
            retry (int | Unset): Milliseconds to wait before reconnecting (`retry:`), when the server sends a new hint.
    """

    event: Literal["presence.count"]
    data: PresenceCount
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
        from ..models.presence_count import PresenceCount  # noqa: PLC0415

        d = dict(src_dict)
        event = cast(Literal["presence.count"], d.pop("event"))
        if event != "presence.count":
            raise ValueError(f"event must match const 'presence.count', got '{event}'")

        data = PresenceCount.from_dict(d.pop("data"))

        retry = d.pop("retry", UNSET)

        presence_count_event = cls(
            event=event,
            data=data,
            retry=retry,
        )

        presence_count_event.additional_properties = d
        return presence_count_event

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
