from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateNote")


@_attrs_define
class CreateNote:
    """A new note.

    Attributes:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        title (str): 1–200 characters, not only white space, without NUL (U+0000).
        body (str | Unset): Up to 50,000 characters, without NUL (U+0000).
    """

    key: str
    title: str
    body: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        title = self.title

        body = self.body

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "key": key,
                "title": title,
            }
        )
        if body is not UNSET:
            field_dict["body"] = body

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        key = d.pop("key")

        title = d.pop("title")

        body = d.pop("body", UNSET)

        create_note = cls(
            key=key,
            title=title,
            body=body,
        )

        return create_note
