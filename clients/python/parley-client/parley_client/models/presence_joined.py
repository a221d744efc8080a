from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PresenceJoined")


@_attrs_define
class PresenceJoined:
    """The payload of `presence.joined`: a user's first stream of the room opened.

    Attributes:
        namespace (str): The room's namespace and name, as on messages: a namespace's stream carries the
            presence of all its rooms. Example: chat.
        room (str):  Example: general.
        user (str):  Example: bob.
        since (datetime.datetime): When the user joined (the start of this stay in the room).
    """

    namespace: str
    room: str
    user: str
    since: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        namespace = self.namespace

        room = self.room

        user = self.user

        since = self.since.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "namespace": namespace,
                "room": room,
                "user": user,
                "since": since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        namespace = d.pop("namespace")

        room = d.pop("room")

        user = d.pop("user")

        since = datetime.datetime.fromisoformat(d.pop("since"))

        presence_joined = cls(
            namespace=namespace,
            room=room,
            user=user,
            since=since,
        )

        presence_joined.additional_properties = d
        return presence_joined

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
