"""Local stand-ins for the providers, speaking their real wire protocols: an aiosmtpd SMTP server, and HTTP servers
(http.server in a thread) answering like Twilio's Messages API and FCM's HTTP v1 API, including their errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
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

import requests
from aiosmtpd.controller import Controller
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey


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


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio documents it (written here independently of the library the service uses):
    base64 of HMAC-SHA1, keyed with the auth token, over the full URL followed by each POST parameter, sorted by
    name, as name + value with no separators."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class PostedCallback:
    url: str
    params: dict[str, str]
    status: int  # what our endpoint answered


class TwilioFake(FakeProvider):
    """Twilio's Messages API: POST /2010-04-01/Accounts/{Sid}/Messages.json, form To/From/Body, basic auth.

    With a StatusCallback in the form it then reports the message's status there, as Twilio does: a form POST signed
    with X-Twilio-Signature, `delivered`, or `undelivered` with ErrorCode 30005 for numbers starting with
    `dead_prefix` (an unknown handset) and 30003 for `unreachable_prefix` (switched off)."""

    account_sid = "AC00000000000000000000000000000001"
    auth_token = "twilio-test-auth-token"
    invalid_prefix = "+000"  # numbers Twilio would call invalid (error 21211)
    dead_prefix = "+999"  # numbers whose receipt says 30005 (unknown destination handset)
    unreachable_prefix = "+998"  # 30003: handset switched off, may come back

    def __init__(self):
        super().__init__()
        self.callbacks: list[PostedCallback] = []
        self.callback_delay = 0.05  # after the 201, as a real receipt comes after the API answer

    def reset(self) -> None:
        super().reset()
        self.callbacks.clear()

    def _post_status(self, url: str, form: dict[str, str], sid: str) -> None:
        time.sleep(self.callback_delay)
        to = form.get("To", "")
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": form.get("From", ""),
                  "To": to, "ApiVersion": "2010-04-01", "MessageStatus": "delivered", "SmsStatus": "delivered"}
        if to.startswith((self.dead_prefix, self.unreachable_prefix)):
            code = "30005" if to.startswith(self.dead_prefix) else "30003"
            params.update(MessageStatus="undelivered", SmsStatus="undelivered", ErrorCode=code)
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
        try:
            status = requests.post(url, data=params, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        with self.lock:
            self.callbacks.append(PostedCallback(url, params, status))

    def answer(self, request: Recorded) -> Scripted:
        reply = self._answer(request)
        callback = request.form().get("StatusCallback") if request.path.endswith("/Messages.json") else None
        if reply.status == 201 and callback:
            threading.Thread(target=self._post_status, args=(callback, request.form(), reply.body["sid"]),
                             daemon=True).start()
        return reply

    def _answer(self, request: Recorded) -> Scripted:
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
    """FCM HTTP v1: POST /v1/projects/{project}/messages:send with a Bearer token and a JSON message. It accepts its
    ready `access_token` and the tokens `minted` by a GoogleTokenServer until they expire."""

    project_id = "demo-project"
    access_token = "ya29.fake-access-token"

    def __init__(self):
        super().__init__()
        self.minted: dict[str, float] = {}  # token -> monotonic expiry, written by GoogleTokenServer

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.minted.clear()

    def _authorised(self, header: str | None) -> bool:
        token = (header or "").removeprefix("Bearer ")
        if token == self.access_token:
            return True
        with self.lock:
            expiry = self.minted.get(token)
        return expiry is not None and time.monotonic() < expiry

    def answer(self, request: Recorded) -> Scripted:
        if request.path != f"/v1/projects/{self.project_id}/messages:send":
            return fcm_error(404, "NOT_FOUND")
        if not self._authorised(request.headers.get("authorization")):
            return fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")
        token = request.json().get("message", {}).get("token", "")
        if token.startswith("unregistered"):
            return fcm_error(404, "NOT_FOUND", "UNREGISTERED")
        if not token or token.startswith("malformed"):
            return fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        return Scripted(200, {"name": f"projects/{self.project_id}/messages/{uuid.uuid4().int % 10**16}"})

    def pushes(self) -> list[dict]:
        return [r.json()["message"] for r in self.requests]


# --- Google's OAuth2 token endpoint (JWT-bearer grant) ---------------------------------------------------------------

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


class GoogleTokenServer(FakeProvider):
    """Google's OAuth2 token endpoint for service accounts (RFC 7523 JWT-bearer grant): a form POST with
    `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an `assertion` JWT signed RS256 with the service
    account's private key. The JWT is verified with the account's public key:
    signature, iss = the account's email, aud = Google's token endpoint (what Google requires, wherever the
    account's token_uri points), the FCM scope, iat/exp. (joserfc, Authlib's JOSE library, independent of
    google-auth.) A good one gets
    `{"access_token", "expires_in", "token_type": "Bearer"}`, registered with the FCM fake."""

    client_email = "notifications@demo-project.iam.gserviceaccount.com"
    audience = "https://oauth2.googleapis.com/token"

    def __init__(self, fcm: FcmFake, public_key_pem: bytes):
        super().__init__()
        self.fcm = fcm
        self.public_key = RSAKey.import_key(public_key_pem)
        self.expires_in = 3600
        self.issued: list[str] = []
        self.claims: list[dict] = []

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def reset(self) -> None:
        super().reset()
        self.expires_in = 3600
        self.issued.clear()
        self.claims.clear()

    def answer(self, request: Recorded) -> Scripted:
        form = request.form()
        if request.path != "/token" or form.get("grant_type") != JWT_BEARER:
            return Scripted(400, {"error": "unsupported_grant_type"})
        try:
            token = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(exp={"essential": True}, iat={"essential": True}).validate(token.claims)
            claims = token.claims
        except (JoseError, ValueError) as exc:
            return Scripted(400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"})
        if (claims.get("iss") != self.client_email or claims.get("aud") != self.audience
                or FCM_SCOPE not in str(claims.get("scope", "")).split()):
            return Scripted(400, {"error": "invalid_grant", "error_description": "Invalid JWT claims"})
        token = f"ya29.minted-{uuid.uuid4().hex}"
        with self.lock:
            self.issued.append(token)
            self.claims.append(dict(claims))
        with self.fcm.lock:
            self.fcm.minted[token] = time.monotonic() + self.expires_in
        return Scripted(200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"})
