from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="UpdateNote")


@_attrs_define
class UpdateNote:
    """The new content of a note.

    Attributes:
        title (str): 1–200 characters, not only white space, without NUL (U+0000).
        body (str): Up to 50,000 characters, without NUL (U+0000).
    """

    title: str
    body: str

    def to_dict(self) -> dict[str, Any]:
        title = self.title

        body = self.body

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "title": title,
                "body": body,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        title = d.pop("title")

        body = d.pop("body")

        update_note = cls(
            title=title,
            body=body,
        )

        return update_note
