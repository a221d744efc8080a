from enum import StrEnum


class EventType(StrEnum):
    MESSAGE_CREATED = "message.created"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_UPDATED = "message.updated"
    NOTE_CREATED = "note.created"
    NOTE_DELETED = "note.deleted"
    NOTE_UPDATED = "note.updated"
    PRESENCE_COUNT = "presence.count"
    PRESENCE_JOINED = "presence.joined"
    PRESENCE_LEFT = "presence.left"
    TYPING = "typing"

    def __str__(self) -> str:
        return str(self.value)
