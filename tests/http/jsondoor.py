"""A client of the JSON door made of urllib and the Connect protocol's few rules, independent of
the service's and of connectrpc's code: unary calls are a JSON POST; a stream is a body of
envelopes (1 flag byte, 4 length bytes, the JSON message) answered by envelopes, the last one
(flag 2) carrying the end of the stream and its error, if any."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from google.rpc import error_details_pb2

from tests.support import TOKENS


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # the JSON document (unary), or the list of stream messages
    end: dict[str, Any] = field(default_factory=dict)  # a stream's end-of-stream message

    @property
    def code(self) -> str:
        """ "ok", or the Connect error code ("invalid_argument")."""
        error = self.end.get("error") if self.end else (self.body if self.status != 200 else None)
        return str(error["code"]) if error else "ok"

    def violations(self) -> dict[str, str]:
        """The google.rpc.BadRequest of an error, decoded from its binary `value`."""
        error = self.end.get("error") if self.end else self.body
        found: dict[str, str] = {}
        for detail in error.get("details", []):
            if detail["type"] == "google.rpc.BadRequest":
                bad = error_details_pb2.BadRequest.FromString(base64.b64decode(detail["value"] + "=="))
                found.update({v.field: v.description for v in bad.field_violations})
        return found


def _headers(who: str | None, content_type: str, extra: dict[str, str] | None) -> dict[str, str]:
    headers = {"Content-Type": content_type, **(extra or {})}
    if who is not None:
        headers["Authorization"] = f"Bearer {TOKENS.get(who, who)}"
    return headers


def _send(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def unary(
    port: int, method: str, message: dict[str, Any], who: str | None = None, headers: dict[str, str] | None = None
) -> Answer:
    status, got, body = _send(
        f"http://127.0.0.1:{port}/ruralpost.v1.{method}",
        json.dumps(message, ensure_ascii=False).encode(),
        _headers(who, "application/json", headers),
    )
    return Answer(status, got, json.loads(body) if body else None)


def envelope(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, ensure_ascii=False).encode()
    return struct.pack(">BI", 0, len(data)) + data


def stream(port: int, method: str, messages: list[dict[str, Any]], who: str | None = None) -> Answer:
    return enveloped(port, method, b"".join(envelope(m) for m in messages), who)


def enveloped(port: int, method: str, data: bytes, who: str | None = None) -> Answer:
    """A stream whose body is `data` as given (envelopes, whole or not)."""
    status, got, body = _send(
        f"http://127.0.0.1:{port}/ruralpost.v1.{method}", data, _headers(who, "application/connect+json", None)
    )
    answers: list[Any] = []
    end: dict[str, Any] = {}
    at = 0
    while at < len(body):
        flags, length = struct.unpack(">BI", body[at : at + 5])
        message = json.loads(body[at + 5 : at + 5 + length])
        at += 5 + length
        if flags & 2:
            end = message
        else:
            answers.append(message)
    assert end is not None
    return Answer(status, got, answers, end)
