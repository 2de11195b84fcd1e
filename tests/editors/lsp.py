"""A small Language Server Protocol client for the tests: JSON-RPC over a child's stdin/stdout.

Framing (LSP base protocol): each message is `Content-Length: N\\r\\n` (other headers allowed), a blank line, then N
bytes of UTF-8 JSON. A reader thread parses frames off the server's stdout into a queue; the test thread sends
requests and notifications, answers the requests the server sends (`workspace/configuration` and friends) and
keeps the latest `textDocument/publishDiagnostics` per document. Every wait has a deadline; `close()` shuts the
server down politely and kills it by PID if it does not exit.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

Message = dict[str, Any]


class LspError(RuntimeError):
    """The server misbehaved: it exited, timed out or answered a request with an error."""


def encode(message: Message) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_message(stream: IO[bytes]) -> Message | None:
    """One framed message from `stream`, or None at end of stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.rstrip(b"\r\n")
        if not line:
            if length is None:
                continue  # a stray blank line between messages
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = b""
    while len(body) < length:
        chunk = stream.read(length - len(body))
        if not chunk:
            return None
        body += chunk
    decoded: Message = json.loads(body.decode("utf-8"))
    return decoded


class LspClient:
    def __init__(self, argv: Sequence[str], cwd: Path, settings: dict[str, Any], timeout: float = 60.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self.published: dict[str, int] = {}  # uri -> how many publishDiagnostics arrived
        self.server_requests: list[str] = []
        self.opened: set[str] = set()
        self._next_id = 0
        self._responses: dict[int, Message] = {}
        self._inbox: queue.Queue[Message | None] = queue.Queue()
        self._stderr = (cwd / "lsp-stderr.log").open("w+b")
        self.proc = subprocess.Popen(
            list(argv), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- plumbing --------------------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        assert self.proc.stdout is not None
        try:
            while (message := read_message(self.proc.stdout)) is not None:
                self._inbox.put(message)
        finally:
            self._inbox.put(None)

    def _send(self, message: Message) -> None:
        assert self.proc.stdin is not None
        message = {"jsonrpc": "2.0", **message}
        try:
            self.proc.stdin.write(encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise LspError(f"server gone while sending {message.get('method')}: {err}{self.stderr_tail()}") from err

    def stderr_tail(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")[-2000:]
        return f"\nserver stderr:\n{text}" if text else ""

    def _answer(self, request: Message) -> None:
        method = request["method"]
        self.server_requests.append(method)
        result: Any = None
        if method == "workspace/configuration":
            result = [self._section(item.get("section", "")) for item in request["params"]["items"]]
        elif method == "workspace/workspaceFolders":
            result = []
        self._send({"id": request["id"], "result": result})

    def _section(self, section: str) -> Any:
        node: Any = self.settings
        for part in [p for p in section.split(".") if p]:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def _handle(self, message: Message) -> None:
        if "method" in message and "id" in message:
            self._answer(message)
        elif "id" in message:
            self._responses[message["id"]] = message
        elif message.get("method") == "textDocument/publishDiagnostics":
            uri = message["params"]["uri"]
            self.diagnostics[uri] = message["params"]["diagnostics"]
            self.published[uri] = self.published.get(uri, 0) + 1

    def pump(self, until: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Handle incoming messages until `until()` holds; LspError after the deadline or if the server exits."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise LspError(f"timed out waiting for {what}{self.stderr_tail()}")
            try:
                message = self._inbox.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if message is None:
                raise LspError(f"server exited (rc {self.proc.poll()}) while waiting for {what}{self.stderr_tail()}")
            self._handle(message)

    def settle(self, quiet: float = 0.7) -> None:
        """Handle messages until none has arrived for `quiet` seconds (late re-validations land here)."""
        while True:
            try:
                message = self._inbox.get(timeout=quiet)
            except queue.Empty:
                return
            if message is None:
                return
            self._handle(message)

    # -- the protocol --------------------------------------------------------------------------------------

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        rid = self._next_id
        self._send({"id": rid, "method": method, "params": params})
        self.pump(lambda: rid in self._responses, f"the answer to {method}")
        response = self._responses.pop(rid)
        if "error" in response:
            raise LspError(f"{method} failed: {response['error']}")
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def initialize(self, root: Path) -> Any:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True}},
                    "textDocument": {"publishDiagnostics": {"relatedInformation": True},
                                     "synchronization": {"dynamicRegistration": False}},
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})
        return result

    def open_and_diagnose(self, path: Path, text: str | None = None) -> list[dict[str, Any]]:
        """didOpen `path` (its text, or `text`), and return the diagnostics the server publishes for it."""
        uri = path.as_uri()
        if uri in self.opened:
            raise ValueError(f"{uri} was opened before; open each document once (a closed one may still get a "
                             "late, empty publishDiagnostics)")
        self.opened.add(uri)
        seen = self.published.get(uri, 0)
        body = path.read_text(encoding="utf-8") if text is None else text
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": body}})
        self.pump(lambda: self.published.get(uri, 0) > seen, f"diagnostics for {path.name}")
        self.settle()
        diagnostics = self.diagnostics[uri]
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        return diagnostics

    def close(self) -> None:
        self.timeout = 5.0  # a server that hung already is not waited on for long
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None)
                self.notify("exit", None)
                self.proc.wait(timeout=10)
        except (LspError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._stderr.close()
