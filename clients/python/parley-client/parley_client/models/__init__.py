"""Contains all the data models used in inputs/outputs"""

from .create_note import CreateNote
from .credentials import Credentials
from .deleted_message import DeletedMessage
from .deleted_note import DeletedNote
from .event_type import EventType
from .field_error import FieldError
from .health import Health
from .message import Message
from .message_body import MessageBody
from .message_created_event import MessageCreatedEvent
from .message_deleted_event import MessageDeletedEvent
from .message_page import MessagePage
from .message_updated_event import MessageUpdatedEvent
from .note import Note
from .note_created_event import NoteCreatedEvent
from .note_deleted_event import NoteDeletedEvent
from .note_page import NotePage
from .note_summary import NoteSummary
from .note_updated_event import NoteUpdatedEvent
from .presence_count import PresenceCount
from .presence_count_event import PresenceCountEvent
from .presence_joined import PresenceJoined
from .presence_joined_event import PresenceJoinedEvent
from .presence_left import PresenceLeft
from .presence_left_event import PresenceLeftEvent
from .presence_member import PresenceMember
from .presence_snapshot import PresenceSnapshot
from .problem import Problem
from .ready_event import ReadyEvent
from .reset_event import ResetEvent
from .room_page import RoomPage
from .room_summary import RoomSummary
from .session import Session
from .stream_marker import StreamMarker
from .typing import Typing
from .typing_event import TypingEvent
from .update_note import UpdateNote
from .user import User

__all__ = (
    "CreateNote",
    "Credentials",
    "DeletedMessage",
    "DeletedNote",
    "EventType",
    "FieldError",
    "Health",
    "Message",
    "MessageBody",
    "MessageCreatedEvent",
    "MessageDeletedEvent",
    "MessagePage",
    "MessageUpdatedEvent",
    "Note",
    "NoteCreatedEvent",
    "NoteDeletedEvent",
    "NotePage",
    "NoteSummary",
    "NoteUpdatedEvent",
    "PresenceCount",
    "PresenceCountEvent",
    "PresenceJoined",
    "PresenceJoinedEvent",
    "PresenceLeft",
    "PresenceLeftEvent",
    "PresenceMember",
    "PresenceSnapshot",
    "Problem",
    "ReadyEvent",
    "ResetEvent",
    "RoomPage",
    "RoomSummary",
    "Session",
    "StreamMarker",
    "Typing",
    "TypingEvent",
    "UpdateNote",
    "User",
)
