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
from .message_page import MessagePage
from .note import Note
from .note_page import NotePage
from .note_summary import NoteSummary
from .problem import Problem
from .session import Session
from .stream_marker import StreamMarker
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
    "MessagePage",
    "Note",
    "NotePage",
    "NoteSummary",
    "Problem",
    "Session",
    "StreamMarker",
    "UpdateNote",
    "User",
)
