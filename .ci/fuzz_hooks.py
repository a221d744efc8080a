"""Schemathesis hooks for .ci/fuzz (loaded through SCHEMATHESIS_HOOKS).

A page cursor (format `cursor` in the spec) is valid only as the server returned it, which
no schema can state: random text is rightly refused with a 422. The fuzzer makes cursors
the way the server does (unpadded base64url of a position): the text of a message id,
which is also a position among note keys, and among rooms (a time).
"""

import base64

from hypothesis import strategies as st

import schemathesis


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).rstrip(b"=").decode()


schemathesis.openapi.format("cursor", st.integers(min_value=1, max_value=2**63 - 1).map(_cursor))
