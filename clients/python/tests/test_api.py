"""The generated client against the real server: users, sessions, notes, comments, errors."""

from __future__ import annotations

from http import HTTPStatus

from conftest import PASSWORD, Account, unique
from parley_client import AuthenticatedClient, Client
from parley_client.api.messages import (
    create_message,
    delete_message,
    list_messages,
    read_message,
    update_message,
)
from parley_client.api.notes import create_note, delete_note, list_notes, read_note, update_note
from parley_client.api.sessions import create_session, delete_current_session
from parley_client.api.users import create_user, read_current_user
from parley_client.models import (
    CreateNote,
    Credentials,
    FieldError,
    Message,
    MessageBody,
    MessagePage,
    Note,
    NotePage,
    Problem,
    Session,
    UpdateNote,
    User,
)
from parley_client.types import UNSET


def problem_type(parsed: object) -> str:
    assert isinstance(parsed, Problem), parsed
    return parsed.type_


def test_register_log_in_who_am_i_log_out(anonymous: Client, base_url: str) -> None:
    name = unique("alice")
    created = create_user.sync_detailed(client=anonymous, body=Credentials(name, PASSWORD))
    assert created.status_code == HTTPStatus.CREATED
    assert isinstance(created.parsed, User) and created.parsed.username == name

    again = create_user.sync_detailed(client=anonymous, body=Credentials(name.upper(), PASSWORD))
    assert again.status_code == HTTPStatus.CONFLICT
    assert problem_type(again.parsed) == "urn:parley:problem:conflict"

    wrong = create_session.sync_detailed(client=anonymous, body=Credentials(name, "wrong password"))
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(wrong.parsed, Problem)
    assert wrong.parsed.detail == "the username or password is wrong"

    session = create_session.sync(client=anonymous, body=Credentials(name, PASSWORD))
    assert isinstance(session, Session) and len(session.token) == 43
    authed = AuthenticatedClient(base_url, token=session.token, raise_on_unexpected_status=True)
    me = read_current_user.sync(client=authed)
    assert isinstance(me, User) and me.username == name

    assert delete_current_session.sync_detailed(client=authed).status_code == HTTPStatus.NO_CONTENT
    gone = read_current_user.sync_detailed(client=authed)
    assert gone.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_type(gone.parsed) == "urn:parley:problem:unauthorized"


def test_note_create_read_update_with_if_match(user: Account, anonymous: Client) -> None:
    key = unique("shopping")
    created = create_note.sync_detailed(
        client=user.client, body=CreateNote(key=key, title="Shopping list", body="milk, eggs")
    )
    assert created.status_code == HTTPStatus.CREATED
    assert created.headers["location"] == f"/api/notes/{key}"
    assert isinstance(created.parsed, Note)
    assert (created.parsed.author, created.parsed.version) == (user.username, 1)

    read = read_note.sync_detailed(key, client=anonymous)  # reading is public
    assert read.status_code == HTTPStatus.OK and isinstance(read.parsed, Note)
    assert read.parsed.body == "milk, eggs"
    etag = read.headers["etag"]
    assert read.headers["stream-position"]

    unchanged = read_note.sync_detailed(key, client=anonymous, if_none_match=etag)
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED and unchanged.parsed is None

    updated = update_note.sync_detailed(
        key,
        client=user.client,
        body=UpdateNote(title="Shopping list", body="oat milk"),
        if_match=etag,
    )
    assert updated.status_code == HTTPStatus.OK and isinstance(updated.parsed, Note)
    assert updated.parsed.version == 2 and updated.headers["etag"] != etag

    stale = update_note.sync_detailed(
        key, client=user.client, body=UpdateNote(title="Mine", body="lost update"), if_match=etag
    )
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    assert problem_type(stale.parsed) == "urn:parley:problem:precondition-failed"
    current = read_note.sync(key, client=anonymous)
    assert isinstance(current, Note) and (current.body, current.version) == ("oat milk", 2)

    assert delete_note.sync_detailed(key, client=user.client).status_code == HTTPStatus.NO_CONTENT
    missing = read_note.sync_detailed(key, client=anonymous)
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert problem_type(missing.parsed) == "urn:parley:problem:not-found"


def test_list_notes_page_by_page(user: Account, anonymous: Client) -> None:
    prefix = unique("page")
    mine = [f"{prefix}-{i}" for i in range(5)]
    for key in reversed(mine):
        create_note.sync(client=user.client, body=CreateNote(key=key, title=key))

    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = list_notes.sync_detailed(client=anonymous, limit=2, cursor=cursor or UNSET)
        assert page.status_code == HTTPStatus.OK and isinstance(page.parsed, NotePage)
        assert len(page.parsed.items) <= 2 and page.headers["stream-position"]
        seen += [item.key for item in page.parsed.items]
        if not isinstance(page.parsed.next_cursor, str):
            break
        cursor = page.parsed.next_cursor
    assert len(seen) == len(set(seen)), "a note came twice"
    assert seen == sorted(seen)
    assert [key for key in seen if key.startswith(prefix)] == mine

    bad = list_notes.sync_detailed(client=anonymous, limit=1000)
    assert bad.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert isinstance(bad.parsed, Problem) and isinstance(bad.parsed.errors, list)
    assert [error.field for error in bad.parsed.errors] == ["limit"]


def test_comment_post_edit_delete(user: Account, anonymous: Client) -> None:
    key = unique("note")
    create_note.sync(client=user.client, body=CreateNote(key=key, title="With comments"))

    posted = create_message.sync_detailed(
        "notes", key, client=user.client, body=MessageBody("milk?")
    )
    assert posted.status_code == HTTPStatus.CREATED and isinstance(posted.parsed, Message)
    comment = posted.parsed
    assert (comment.from_, comment.namespace, comment.room) == (user.username, "notes", key)
    assert posted.headers["location"] == f"/api/messages/{comment.id}"

    page = list_messages.sync("notes", key, client=anonymous)
    assert isinstance(page, MessagePage) and [m.id for m in page.items] == [comment.id]

    edited = update_message.sync(comment.id, client=user.client, body=MessageBody("oat milk?"))
    assert isinstance(edited, Message) and edited.message == "oat milk?"
    assert edited.updated_at >= edited.created_at
    read = read_message.sync(comment.id, client=anonymous)
    assert isinstance(read, Message) and read.message == "oat milk?"

    deleted = delete_message.sync_detailed(comment.id, client=user.client)
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    gone = read_message.sync_detailed(comment.id, client=anonymous)
    assert gone.status_code == HTTPStatus.NOT_FOUND
    assert problem_type(gone.parsed) == "urn:parley:problem:not-found"


def test_problem_documents_are_parsed(user: Account, base_url: str) -> None:
    invalid = create_note.sync_detailed(
        client=user.client, body=CreateNote(key="no spaces", title=" ", body="x")
    )
    assert invalid.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    problem = invalid.parsed
    assert isinstance(problem, Problem)
    assert (problem.type_, problem.title, problem.status) == (
        "urn:parley:problem:validation",
        "Invalid fields",
        422,
    )
    assert isinstance(problem.errors, list)
    assert all(isinstance(error, FieldError) for error in problem.errors)
    assert sorted(error.field for error in problem.errors) == ["key", "title"]

    key = unique("dup")
    create_note.sync(client=user.client, body=CreateNote(key=key, title="First"))
    taken = create_note.sync_detailed(client=user.client, body=CreateNote(key=key, title="Second"))
    assert taken.status_code == HTTPStatus.CONFLICT
    assert problem_type(taken.parsed) == "urn:parley:problem:conflict"

    stranger = AuthenticatedClient(base_url, token="not-a-token", raise_on_unexpected_status=True)
    refused = create_note.sync_detailed(
        client=stranger, body=CreateNote(key=unique("k"), title="t")
    )
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert problem_type(refused.parsed) == "urn:parley:problem:unauthorized"

    empty = create_message.sync_detailed(
        "chat", "general", client=user.client, body=MessageBody("")
    )
    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert isinstance(empty.parsed, Problem) and isinstance(empty.parsed.errors, list)
    assert [error.field for error in empty.parsed.errors] == ["message"]
