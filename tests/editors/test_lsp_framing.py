"""The test helper's LSP base-protocol framing (tests/editors/lsp.py), without a server."""

from __future__ import annotations

import io

from tests.editors.lsp import encode, read_message


def test_round_trip_of_several_messages_with_non_ascii_text() -> None:
    messages = [{"jsonrpc": "2.0", "id": 1, "result": None},
                {"jsonrpc": "2.0", "method": "window/logMessage", "params": {"message": "Jülich ✓"}}]
    stream = io.BytesIO(b"".join(encode(m) for m in messages))
    assert messages == [read_message(stream), read_message(stream)]
    assert read_message(stream) is None


def test_content_length_counts_bytes_and_other_headers_are_skipped() -> None:
    body = '{"jsonrpc":"2.0","method":"x","params":"é"}'.encode()
    frame = (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: %d\r\n\r\n" % len(body)
             + body)
    assert {"jsonrpc": "2.0", "method": "x", "params": "é"} == read_message(io.BytesIO(frame))


def test_truncated_body_is_end_of_stream() -> None:
    assert read_message(io.BytesIO(b"Content-Length: 50\r\n\r\n{}")) is None
