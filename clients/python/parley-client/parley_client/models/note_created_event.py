from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.note import Note


T = TypeVar("T", bound="NoteCreatedEvent")


@_attrs_define
class NoteCreatedEvent:
    """`event: note.created`: `data` is a `Note`, sent as its JSON text.

    Attributes:
        event (Literal['note.created']):
        id (str): The log position after this event: send it back as `Last-Event-ID` to resume after it.
        data (Note): A note, as returned by the API.
        retry (int | Unset): Milliseconds to wait before reconnecting (`retry:`), when the server sends a new hint.
    """

    event: Literal["note.created"]
    id: str
    data: Note
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
        from ..models.note import Note  # noqa: PLC0415

        d = dict(src_dict)
        event = cast(Literal["note.created"], d.pop("event"))
        if event != "note.created":
            raise ValueError(f"event must match const 'note.created', got '{event}'")

        id = d.pop("id")

        data = Note.from_dict(d.pop("data"))

        retry = d.pop("retry", UNSET)

        note_created_event = cls(
            event=event,
            id=id,
            data=data,
            retry=retry,
        )

        note_created_event.additional_properties = d
        return note_created_event

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
