from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.presence_snapshot import PresenceSnapshot


T = TypeVar("T", bound="StreamMarker")


@_attrs_define
class StreamMarker:
    """The payload of the `ready` and `reset` stream events.

    Attributes:
        position (str): The log position the stream has reached. Example: 7412-93.
        you (None | str | Unset): In `ready` of a room's stream opened by a signed-in user: that user (now present).
            Example: alice.
        presence (None | PresenceSnapshot | Unset):
    """

    position: str
    you: None | str | Unset = UNSET
    presence: None | PresenceSnapshot | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.presence_snapshot import PresenceSnapshot  # noqa: PLC0415

        position = self.position

        you: None | str | Unset
        if isinstance(self.you, Unset):
            you = UNSET
        else:
            you = self.you

        presence: dict[str, Any] | None | Unset
        if isinstance(self.presence, Unset):
            presence = UNSET
        elif isinstance(self.presence, PresenceSnapshot):
            presence = self.presence.to_dict()
        else:
            presence = self.presence

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "position": position,
            }
        )
        if you is not UNSET:
            field_dict["you"] = you
        if presence is not UNSET:
            field_dict["presence"] = presence

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.presence_snapshot import PresenceSnapshot  # noqa: PLC0415

        d = dict(src_dict)
        position = d.pop("position")

        def _parse_you(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        you = _parse_you(d.pop("you", UNSET))

        def _parse_presence(data: object) -> None | PresenceSnapshot | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                presence_type_0 = PresenceSnapshot.from_dict(data)

                return presence_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PresenceSnapshot | Unset, data)

        presence = _parse_presence(d.pop("presence", UNSET))

        stream_marker = cls(
            position=position,
            you=you,
            presence=presence,
        )

        stream_marker.additional_properties = d
        return stream_marker

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
