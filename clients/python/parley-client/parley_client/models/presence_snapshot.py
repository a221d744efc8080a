from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.presence_member import PresenceMember


T = TypeVar("T", bound="PresenceSnapshot")


@_attrs_define
class PresenceSnapshot:
    """Who is in a room, exactly at a log position (`Stream-Position`, or `ready`'s
    `position`): follow the room's stream from that position to keep it exact.

        Attributes:
            members (list[PresenceMember]): Sorted by user. Empty when `large`.
            members_count (int): How many members the room has exactly at this position: the length of `members`
                when not `large`, and a large room's count until its first `presence.count`. Example: 2.
            anonymous (int): Anonymous streams of the room (refreshed within about a second). Example: 3.
            large (bool): More members than `--presence-large-room`: the list is left out, and the room's
                streams get `presence.count` instead of joins and leaves.
    """

    members: list[PresenceMember]
    members_count: int
    anonymous: int
    large: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        members = []
        for members_item_data in self.members:
            members_item = members_item_data.to_dict()
            members.append(members_item)

        members_count = self.members_count

        anonymous = self.anonymous

        large = self.large

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "members": members,
                "members_count": members_count,
                "anonymous": anonymous,
                "large": large,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.presence_member import PresenceMember  # noqa: PLC0415

        d = dict(src_dict)
        members = []
        _members = d.pop("members")
        for members_item_data in _members:
            members_item = PresenceMember.from_dict(members_item_data)

            members.append(members_item)

        members_count = d.pop("members_count")

        anonymous = d.pop("anonymous")

        large = d.pop("large")

        presence_snapshot = cls(
            members=members,
            members_count=members_count,
            anonymous=anonymous,
            large=large,
        )

        presence_snapshot.additional_properties = d
        return presence_snapshot

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
