from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PresenceCount")


@_attrs_define
class PresenceCount:
    """The payload of `presence.count` (ephemeral: no `id:`, never replayed): sent instead of
    joins and leaves to streams of a room with more than `--presence-large-room` members,
    at most once per 5 s, when the counts changed.

        Attributes:
            members (int):  Example: 1234.
            anonymous (int):  Example: 56.
    """

    members: int
    anonymous: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        members = self.members

        anonymous = self.anonymous

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "members": members,
                "anonymous": anonymous,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        members = d.pop("members")

        anonymous = d.pop("anonymous")

        presence_count = cls(
            members=members,
            anonymous=anonymous,
        )

        presence_count.additional_properties = d
        return presence_count

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
