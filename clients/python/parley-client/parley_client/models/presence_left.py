from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PresenceLeft")


@_attrs_define
class PresenceLeft:
    """The payload of `presence.left`: the user's last stream of the room closed, and the
    grace period (`--presence-grace`) passed without a new one.

        Attributes:
            namespace (str):  Example: chat.
            room (str):  Example: general.
            user (str):  Example: bob.
    """

    namespace: str
    room: str
    user: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        namespace = self.namespace

        room = self.room

        user = self.user

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "namespace": namespace,
                "room": room,
                "user": user,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        namespace = d.pop("namespace")

        room = d.pop("room")

        user = d.pop("user")

        presence_left = cls(
            namespace=namespace,
            room=room,
            user=user,
        )

        presence_left.additional_properties = d
        return presence_left

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
