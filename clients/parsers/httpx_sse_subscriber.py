"""Follows one event stream with httpx-sse, as an application would: prints every event as
a JSON line, and after a failed or ended connection waits the server's `retry:` hint and
reconnects with `Last-Event-ID`. The Node test drives it and reads its output.

Usage: httpx_sse_subscriber.py URL
"""

import json
import sys
import time

import httpx
from httpx_sse import SSEError, connect_sse

# Until the server's hint arrives.
DEFAULT_RETRY_MS = 1000


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def follow(url: str) -> None:
    last_id = None
    retry_ms = DEFAULT_RETRY_MS
    # No read timeout: an idle stream only sends keep-alive comments.
    timeout = httpx.Timeout(10.0, read=None)
    with httpx.Client(timeout=timeout) as client:
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with connect_sse(client, "GET", url, headers=headers) as source:
                    emit({"open": source.response.status_code})
                    for event in source.iter_sse():
                        if event.retry is not None:
                            retry_ms = event.retry
                        if event.id:
                            last_id = event.id
                        emit(
                            {
                                "event": event.event,
                                "id": event.id,
                                "data": event.data,
                                "retry": event.retry,
                            }
                        )
            except (httpx.HTTPError, SSEError) as error:
                emit({"error": f"{type(error).__name__}: {error}"})
            time.sleep(retry_ms / 1000)


if __name__ == "__main__":
    try:
        follow(sys.argv[1])
    except KeyboardInterrupt:
        pass
