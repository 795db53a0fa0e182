"""Digest -> email -> SMTP, exactly once per (digest, recipient).

The only module that speaks SMTP. Each recipient is claimed in the store before sending and
marked sent (or failed) after, so a re-run, a crash or a second daemon never sends twice; a
transient failure (4xx, connection refused, timeout) is retried with backoff and, if it persists,
the claim is released so a later run tries again. The password is used, never printed.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum

from .compose import digest_key
from .config import DigestSettings, Settings, SmtpSettings
from .errors import DeliveryError
from .model import Digest
from .render import email_message
from .store.base import DeliveryState, Store


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


@dataclass
class DeliveryReport:
    """What one `send` did, per recipient."""

    digest_key: str
    sent: list[str] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)   # (recipient, stored state)
    failed: list[tuple[str, str]] = field(default_factory=list)    # (recipient, SMTP reply)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # transient, claim released
    would_send: list[str] = field(default_factory=list)            # dry run
    skipped: str = ""                                              # why nothing was attempted
    dry_run: bool = False
    message: bytes = b""                                           # dry run: what would be sent

    def summary(self) -> str:
        if self.skipped:
            return f"nothing sent: {self.skipped}"
        if self.dry_run:
            return (f"dry run: would send to {len(self.would_send)}, "
                    f"already sent {len(self.already)}")
        line = (f"sent to {len(self.sent)}, already sent {len(self.already)}, "
                f"failed {len(self.failed)}")
        if self.deferred:
            line += f", deferred {len(self.deferred)} (will retry on the next run)"
        return line


class _Transient(Exception):
    """A failure worth retrying: the message certainly was not accepted."""

    def __init__(self, detail: str, unreachable: bool = False) -> None:
        super().__init__(detail)
        self.unreachable = unreachable       # no session at all, not this recipient's problem


class _Permanent(Exception):
    """The server refused this recipient or message for good (5xx)."""


def _split(settings: Settings | tuple[DigestSettings, SmtpSettings]
           ) -> tuple[DigestSettings, SmtpSettings]:
    if isinstance(settings, Settings):
        return settings.digest, settings.smtp
    return settings


def send(digest: Digest, store: Store,
         settings: Settings | tuple[DigestSettings, SmtpSettings], *, dry_run: bool = False,
         templates_dir: str | None = None, base_delay: float = 1.0,
         on_result: Callable[[str, str], None] | None = None) -> DeliveryReport:
    """Deliver the digest's email to every configured recipient not yet served.

    `base_delay` is the first retry pause (doubled each time); `on_result(recipient, outcome)` is
    called after each recipient, for progress lines.
    """
    dsettings, smtp = _split(settings)
    key = digest_key(digest, "eml")
    report = DeliveryReport(key, dry_run=dry_run)
    try:
        security = Security(smtp.security)
    except ValueError:
        raise DeliveryError(f"smtp.security {smtp.security!r}: expected none, starttls or ssl") \
            from None
    if not dsettings.recipients:
        raise DeliveryError("digest.recipients is empty: nobody to send the digest to")
    sender = parseaddr(dsettings.sender)[1]
    if not sender:
        raise DeliveryError(f"digest.sender {dsettings.sender!r} has no address")
    if dsettings.skip_empty and not digest.entries:
        report.skipped = f"{digest.period} has no announcements and digest.skip_empty is set"
        return report
    states = {d.recipient: d.state for d in store.deliveries(key)}
    if dry_run:
        for rcpt in dsettings.recipients:
            if rcpt in states:
                report.already.append((rcpt, str(states[rcpt])))
            else:
                report.would_send.append(rcpt)
        report.message = email_message(digest, dsettings, templates_dir=templates_dir,
                                       to=report.would_send or dsettings.recipients).as_bytes()
        return report
    session = _Session(smtp, security)
    unreachable = ""                     # once the server cannot be reached, stop trying
    message: EmailMessage | None = None
    try:
        for rcpt in dsettings.recipients:
            if unreachable:
                report.deferred.append((rcpt, unreachable))
                _tell(on_result, rcpt, f"deferred: {unreachable}")
                continue
            if not store.claim_delivery(key, rcpt):
                state = {d.recipient: d.state for d in store.deliveries(key)}.get(rcpt)
                report.already.append((rcpt, str(state or DeliveryState.SENT)))
                _tell(on_result, rcpt, "already sent")
                continue
            if message is None:          # rendered once, re-addressed for each recipient
                message = email_message(digest, dsettings, templates_dir=templates_dir, to=[rcpt])
            else:
                message.replace_header("To", rcpt)
            data = message.as_bytes()
            try:
                outcome = _deliver_one(session, sender, rcpt, data, smtp.retries, base_delay)
            except DeliveryError:
                store.release_delivery(key, rcpt)       # login failed: certainly not sent
                raise
            if outcome is None:
                store.finish_delivery(key, rcpt, DeliveryState.SENT)
                report.sent.append(rcpt)
                _tell(on_result, rcpt, "sent")
            elif isinstance(outcome, _Permanent):
                store.finish_delivery(key, rcpt, DeliveryState.FAILED, str(outcome))
                report.failed.append((rcpt, str(outcome)))
                _tell(on_result, rcpt, f"failed: {outcome}")
            else:
                store.release_delivery(key, rcpt)
                report.deferred.append((rcpt, str(outcome)))
                if getattr(outcome, "unreachable", False):
                    unreachable = str(outcome)
                _tell(on_result, rcpt, f"deferred: {outcome}")
    finally:
        session.close()
    return report


def _tell(callback: Callable[[str, str], None] | None, rcpt: str, outcome: str) -> None:
    if callback is not None:
        callback(rcpt, outcome)


def _deliver_one(session: _Session, sender: str, rcpt: str, data: bytes, retries: int,
                 base_delay: float) -> Exception | None:
    """None when accepted; the last _Transient or a _Permanent otherwise."""
    last: Exception | None = None
    for attempt in range(max(0, retries) + 1):
        if attempt:
            time.sleep(base_delay * 2 ** (attempt - 1))
        try:
            session.sendmail(sender, rcpt, data)
            return None
        except _Permanent as exc:
            return exc
        except _Transient as exc:
            session.close()
            last = exc
    return last


class _Session:
    """One SMTP connection, opened lazily and reopened after a transient failure."""

    def __init__(self, smtp: SmtpSettings, security: Security) -> None:
        self.smtp = smtp
        self.security = security
        self.conn: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.port}"

    def _open(self) -> smtplib.SMTP:
        s = self.smtp
        try:
            if self.security is Security.SSL:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if self.security is Security.STARTTLS:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{self.where}: login as {s.username!r} refused "
                                f"({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{self.where}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise _error(exc.smtp_code, exc.smtp_error, self.where) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Transient(f"{self.where}: {_describe(exc)}", unreachable=True) from None
        return conn

    def sendmail(self, sender: str, rcpt: str, data: bytes) -> None:
        if self.conn is None:
            self.conn = self._open()
        try:
            self.conn.sendmail(sender, [rcpt], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(rcpt, (550, b"refused"))
            raise _error(code, reply, rcpt) from None
        except smtplib.SMTPResponseException as exc:   # sender refused, data refused, ...
            raise _error(exc.smtp_code, exc.smtp_error, rcpt) from None
        except (OSError, smtplib.SMTPException) as exc:  # disconnected, timeout, reset
            self.close()
            raise _Transient(f"{self.where}: {_describe(exc)}") from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                self.conn.close()
            self.conn = None


def _error(code: int, reply: bytes | str, where: str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{where}: {code} {' '.join(text.split())}"
    return _Permanent(detail) if 500 <= code < 600 else _Transient(detail)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
