from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Typing")


@_attrs_define
class Typing:
    """The payload of `typing` (ephemeral: no `id:`, never replayed): show "bob is typing…"
    until `expires_in_ms` after the last one received.

        Attributes:
            user (str):  Example: bob.
            expires_in_ms (int):  Example: 5000.
    """

    user: str
    expires_in_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user = self.user

        expires_in_ms = self.expires_in_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user": user,
                "expires_in_ms": expires_in_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user = d.pop("user")

        expires_in_ms = d.pop("expires_in_ms")

        typing = cls(
            user=user,
            expires_in_ms=expires_in_ms,
        )

        typing.additional_properties = d
        return typing

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
