"""deliver: a real SMTP server (aiosmtpd on 127.0.0.1) receives the digest exactly once."""
from __future__ import annotations

import email
import socket
from dataclasses import replace
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.cli import main
from digest.compose import compose, digest_key, parse_period
from digest.config import DigestSettings, SmtpSettings
from digest.deliver import Security, send
from digest.errors import DeliveryError
from digest.store.base import DeliveryState

from digest_samples import week19 as week
from digest_samples import week_store

RECIPIENTS = ("ana@example.org", "ben@example.org", "cai@example.org")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An SMTP handler that keeps what it accepts; it can refuse or delay chosen recipients."""

    def __init__(self, refuse: tuple[str, ...] = (), busy_once: tuple[str, ...] = ()) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse = set(refuse)
        self.busy = set(busy_once)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        if address in self.busy:
            self.busy.discard(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        return [rcpt for _, rcpts, _ in self.received for rcpt in rcpts]


@pytest.fixture
def server():
    handlers: list[Controller] = []

    def start(handler: Recorder | None = None, **kwargs) -> tuple[Recorder, int]:
        handler = handler or Recorder()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        handlers.append(controller)
        return handler, port

    yield start
    for controller in handlers:
        controller.stop()


@pytest.fixture
def store(tmp_path):
    s = week_store(tmp_path / "s.sqlite3")
    yield s
    s.close()


def settings(port: int, recipients=RECIPIENTS, **smtp) -> tuple[DigestSettings, SmtpSettings]:
    digest = DigestSettings(recipients=recipients, list_unsubscribe="<mailto:leave@example.org>")
    return digest, SmtpSettings(host="127.0.0.1", port=port, timeout=5, retries=2, **smtp)


def states(store, digest):
    return {d.recipient: d.state for d in store.deliveries(digest_key(digest))}


def test_each_recipient_receives_the_digest_with_both_parts_and_every_reference(server, store):
    handler, port = server()
    digest = week(store)
    report = send(digest, store, settings(port), base_delay=0)
    assert report.sent == list(RECIPIENTS) and report.summary().startswith("sent to 3,")
    assert handler.to() == list(RECIPIENTS)
    sender, rcpts, raw = handler.received[0]
    assert sender == "digest@example.org"
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == "[Partnerships digest] 2017-W19: 3 announcements"
    assert mail["To"] == rcpts[0]
    assert mail["List-Unsubscribe"] == "<mailto:leave@example.org>"
    assert mail["Message-ID"] and mail["Date"] == "Mon, 15 May 2017 00:00:00 +0000"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for ref in digest.references:
        assert ref.url in text and f'href="{ref.url}"' in html
    assert set(states(store, digest).values()) == {DeliveryState.SENT}


def test_a_week_already_sent_sends_nothing_and_says_so(server, store):
    handler, port = server()
    digest = week(store)
    send(digest, store, settings(port), base_delay=0)
    again = send(digest, store, settings(port), base_delay=0)
    assert again.sent == [] and [r for r, _ in again.already] == list(RECIPIENTS)
    assert "already sent 3" in again.summary()
    assert len(handler.received) == 3


def test_a_transient_refusal_is_retried_until_accepted(server, store):
    handler, port = server(Recorder(busy_once=("ben@example.org",)))
    report = send(week(store), store, settings(port), base_delay=0.01)
    assert report.sent == list(RECIPIENTS) and report.deferred == []
    assert handler.to().count("ben@example.org") == 1


def test_a_permanent_refusal_is_recorded_and_the_others_still_receive(server, store):
    handler, port = server(Recorder(refuse=("ben@example.org",)))
    digest = week(store)
    report = send(digest, store, settings(port), base_delay=0)
    assert report.sent == ["ana@example.org", "cai@example.org"]
    assert [r for r, _ in report.failed] == ["ben@example.org"]
    assert "550" in report.failed[0][1]
    assert states(store, digest)["ben@example.org"] == DeliveryState.FAILED
    assert handler.to() == ["ana@example.org", "cai@example.org"]


def test_a_server_that_is_down_leaves_nothing_claimed_so_a_later_run_delivers(server, store):
    digest = week(store)
    port = free_port()                                   # nothing listens here
    report = send(digest, store, settings(port), base_delay=0.001)
    assert report.sent == [] and [r for r, _ in report.deferred] == list(RECIPIENTS)
    assert "connection refused" in report.deferred[0][1]
    assert store.deliveries(digest_key(digest)) == []
    handler, port = server()
    later = send(digest, store, settings(port), base_delay=0)
    assert later.sent == list(RECIPIENTS) and handler.to() == list(RECIPIENTS)


def test_a_crash_between_two_recipients_then_a_rerun_sends_no_duplicates(server, store):
    handler, port = server()
    digest = week(store)

    def crash_after_first(rcpt: str, outcome: str) -> None:
        if rcpt == RECIPIENTS[0]:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        send(digest, store, settings(port), base_delay=0, on_result=crash_after_first)
    assert handler.to() == [RECIPIENTS[0]]
    rerun = send(digest, store, settings(port), base_delay=0)
    assert rerun.sent == list(RECIPIENTS[1:])
    assert [r for r, _ in rerun.already] == [RECIPIENTS[0]]
    assert sorted(handler.to()) == sorted(RECIPIENTS)      # each exactly once


def test_a_claim_left_by_a_crash_during_sending_is_never_resent_blindly(server, store):
    handler, port = server()
    digest = week(store)
    store.claim_delivery(digest_key(digest), RECIPIENTS[1])   # claimed, outcome unknown
    report = send(digest, store, settings(port), base_delay=0)
    assert report.already == [(RECIPIENTS[1], "claimed")]
    assert RECIPIENTS[1] not in handler.to()


def test_dry_run_sends_nothing_and_shows_the_message(server, store):
    handler, port = server()
    digest = week(store)
    report = send(digest, store, settings(port), dry_run=True)
    assert report.would_send == list(RECIPIENTS) and handler.received == []
    assert store.deliveries() == []
    assert b"Subject: [Partnerships digest] 2017-W19: 3 announcements" in report.message


def test_an_empty_week_is_skipped_when_configured(server, store):
    handler, port = server()
    empty = compose(store, parse_period("2017-W30", None, None, "UTC"), DigestSettings())
    digest_settings, smtp = settings(port)
    report = send(empty, store, (replace(digest_settings, skip_empty=True), smtp))
    assert report.skipped and handler.received == []
    sent = send(empty, store, (digest_settings, smtp), base_delay=0)
    assert len(sent.sent) == 3
    body = email.message_from_bytes(handler.received[0][2], policy=policy.default)
    assert "No partnership announcements" in body.get_body(("plain",)).get_content()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"digest" \
        and auth_data.password == b"s3cret-pw"
    return AuthResult(success=ok, handled=False)


def test_login_uses_the_password_and_a_refusal_never_shows_it(server, store):
    handler, port = server(authenticator=authenticator, auth_require_tls=False)
    digest = week(store)
    report = send(digest, store, settings(port, username="digest", password="s3cret-pw"),
                  base_delay=0)
    assert len(report.sent) == 3
    other = compose(store, parse_period("2017-W18", None, None, "UTC"), DigestSettings())
    with pytest.raises(DeliveryError) as caught:
        send(other, store, settings(port, username="digest", password="wrong-pw"), base_delay=0)
    assert "login" in str(caught.value) and "wrong-pw" not in str(caught.value)
    assert store.deliveries(digest_key(other)) == []          # the claim was released


def test_configuration_mistakes_are_delivery_errors(store):
    digest = week(store)
    with pytest.raises(DeliveryError, match="recipients"):
        send(digest, store, settings(25, recipients=()))
    with pytest.raises(DeliveryError, match="security"):
        send(digest, store, settings(25, security="tls-please"))
    assert Security("starttls") is Security.STARTTLS


# --- the CLI --------------------------------------------------------------------------------------

def write_config(tmp_path, port: int) -> str:
    path = tmp_path / "digest.toml"
    path.write_text(f"""
[digest]
timezone = "UTC"
sender = "Partnerships digest <digest@example.org>"
recipients = ["ana@example.org", "ben@example.org"]

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
retries = 0
""", encoding="utf-8")
    return str(path)


def test_digest_send_delivers_once_and_prints_a_summary(server, store, tmp_path, capsys):
    handler, port = server()
    args = ["--config", write_config(tmp_path, port), "--store", store.url, "send",
            "--week", "2017-W19"]
    assert main(args) == 0
    assert "2017-W19: sent to 2, already sent 0, failed 0" in capsys.readouterr().out
    assert main(args) == 0
    assert "sent to 0, already sent 2, failed 0" in capsys.readouterr().out
    assert handler.to() == ["ana@example.org", "ben@example.org"]


def test_digest_send_dry_run_prints_recipients_and_the_message(server, store, tmp_path, capsys):
    handler, port = server()
    args = ["--config", write_config(tmp_path, port), "--store", store.url, "send",
            "--week", "2017-W19", "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "would send to ana@example.org" in out and "would send to ben@example.org" in out
    assert "Subject: [Partnerships digest] 2017-W19: 3 announcements" in out
    assert "In this digest" in out and handler.received == []


def test_digest_send_to_a_server_that_is_down_fails_with_one_line(store, tmp_path, capsys):
    args = ["--config", write_config(tmp_path, free_port()), "--store", store.url, "send",
            "--week", "2017-W19"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "digest: error: 2017-W19: not delivered" in err and "connection refused" in err
