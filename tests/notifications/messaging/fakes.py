"""Local stand-ins for the providers, speaking their real wire protocols: an aiosmtpd SMTP server, and HTTP servers
(http.server in a thread) answering like Twilio's Messages API and FCM's HTTP v1 API, including their errors."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP ------------------------------------------------------------------------------------------------------------


class _SmtpHandler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A scripted refusal for this address, as a real MTA answers an unknown or over-quota mailbox.
        if address in self.sink.refuse:
            return self.sink.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1; `messages` holds (mail_from, rcpt_tos, EmailMessage) as received."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line at INFO
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        self.messages.clear()
        self.refuse.clear()


# --- HTTP providers --------------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Scripted:
    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeProvider:
    """Base: records each request and answers with the next scripted reply, else with `answer()`."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque()
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                    self.rfile.read(length))
                with provider.lock:
                    provider.requests.append(recorded)
                    scripted = provider.script.popleft() if provider.script else None
                reply = scripted or provider.answer(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.script.clear()

    def answer(self, request: Recorded) -> Scripted:
        raise NotImplementedError


class TwilioFake(FakeProvider):
    """Twilio's Messages API: POST /2010-04-01/Accounts/{Sid}/Messages.json, form To/From/Body, basic auth."""

    account_sid = "AC00000000000000000000000000000001"
    auth_token = "twilio-test-auth-token"
    invalid_prefix = "+000"  # numbers Twilio would call invalid (error 21211)

    def answer(self, request: Recorded) -> Scripted:
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return Scripted(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Scripted(401, {"code": 20003, "message": "Authenticate", "status": 401})
        form = request.form()
        if form.get("To", "").startswith(self.invalid_prefix):
            return Scripted(400, {
                "code": 21211, "message": f"The 'To' number {form['To']} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400,
            })
        return Scripted(201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": form.get("To"),
                              "from": form.get("From"), "body": form.get("Body")})

    def sms(self) -> list[dict[str, str]]:
        return [r.form() for r in self.requests]


def fcm_error(status: int, api_status: str, error_code: str | None = None) -> Scripted:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
    body = {"error": {"code": status, "message": f"{api_status} from fake FCM", "status": api_status,
                      "details": details if error_code else []}}
    return Scripted(status, body)


class FcmFake(FakeProvider):
    """FCM HTTP v1: POST /v1/projects/{project}/messages:send with a Bearer token and a JSON message."""

    project_id = "demo-project"
    access_token = "ya29.fake-access-token"

    def answer(self, request: Recorded) -> Scripted:
        if request.path != f"/v1/projects/{self.project_id}/messages:send":
            return fcm_error(404, "NOT_FOUND")
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")
        token = request.json().get("message", {}).get("token", "")
        if token.startswith("unregistered"):
            return fcm_error(404, "NOT_FOUND", "UNREGISTERED")
        if not token or token.startswith("malformed"):
            return fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        return Scripted(200, {"name": f"projects/{self.project_id}/messages/{uuid.uuid4().int % 10**16}"})

    def pushes(self) -> list[dict]:
        return [r.json()["message"] for r in self.requests]
