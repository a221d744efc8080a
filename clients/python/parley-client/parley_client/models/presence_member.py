from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PresenceMember")


@_attrs_define
class PresenceMember:
    """One member of a room: a signed-in user with at least one open stream of it (or one
    that closed less than `--presence-grace` ago).

        Attributes:
            user (str):  Example: alice.
            sessions (int): The user's open streams of the room, on every server (tabs, devices). Refreshed
                within about a second; at least 1. Example: 2.
            since (datetime.datetime): When the user joined.
    """

    user: str
    sessions: int
    since: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user = self.user

        sessions = self.sessions

        since = self.since.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user": user,
                "sessions": sessions,
                "since": since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user = d.pop("user")

        sessions = d.pop("sessions")

        since = datetime.datetime.fromisoformat(d.pop("since"))

        presence_member = cls(
            user=user,
            sessions=sessions,
            since=since,
        )

        presence_member.additional_properties = d
        return presence_member

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
