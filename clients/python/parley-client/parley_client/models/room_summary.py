from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RoomSummary")


@_attrs_define
class RoomSummary:
    """A room with messages or members.

    Attributes:
        room (str):  Example: general.
        last_activity (datetime.datetime): The time of its newest message, join or leave.
        members (int): Members present now. Example: 2.
    """

    room: str
    last_activity: datetime.datetime
    members: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        room = self.room

        last_activity = self.last_activity.isoformat()

        members = self.members

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "room": room,
                "last_activity": last_activity,
                "members": members,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        room = d.pop("room")

        last_activity = datetime.datetime.fromisoformat(d.pop("last_activity"))

        members = d.pop("members")

        room_summary = cls(
            room=room,
            last_activity=last_activity,
            members=members,
        )

        room_summary.additional_properties = d
        return room_summary

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
