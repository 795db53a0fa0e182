"""deliver over TLS: STARTTLS and implicit SSL with login, against a real aiosmtpd server whose
certificate comes from a throwaway CA (trustme); the client verifies it like any other."""
from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

trustme = pytest.importorskip("trustme", reason="trustme (test extra) makes the test certificates")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from digest.config import DigestSettings, SmtpSettings  # noqa: E402
from digest.deliver import send  # noqa: E402
from digest.errors import DeliveryError  # noqa: E402

from digest_samples import week19, week_store  # noqa: E402


class Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        self.tls.append(session.ssl is not None)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"digest" \
        and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ca(tmp_path, monkeypatch):
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    # The client trusts the system store; point it at the test CA the standard way.
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return server_context


@pytest.fixture
def digest_and_store(tmp_path):
    store = week_store(tmp_path / "s.sqlite3")
    yield week19(store), store
    store.close()


@contextmanager
def serve(inbox: Inbox, **kwargs) -> Iterator[int]:
    """An authenticating SMTP server on a free port, stopped on leaving the block."""
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def settings(port: int, security: str, password: str = "s3cret"):
    return (DigestSettings(recipients=("ana@example.org",)),
            SmtpSettings(host="127.0.0.1", port=port, security=security, username="digest",
                         password=password, timeout=5, retries=1))


def test_starttls_upgrades_the_connection_before_logging_in(ca, digest_and_store):
    digest, store = digest_and_store
    inbox = Inbox()
    with serve(inbox, tls_context=ca, require_starttls=True) as port:
        report = send(digest, store, settings(port, "starttls"), base_delay=0)
    assert report.sent == ["ana@example.org"]
    assert inbox.tls == [True] and b"2017-W19" in inbox.received[0]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_ssl_connects_encrypted_from_the_first_byte(ca, digest_and_store):
    digest, store = digest_and_store
    inbox = Inbox()
    with serve(inbox, ssl_context=ca, auth_require_tls=False) as port:
        report = send(digest, store, settings(port, "ssl"), base_delay=0)
    assert report.sent == ["ana@example.org"] and len(inbox.received) == 1


def test_a_refused_login_over_tls_is_an_error_that_never_shows_the_password(ca, digest_and_store):
    digest, store = digest_and_store
    with serve(Inbox(), tls_context=ca, require_starttls=True) as port:
        with pytest.raises(DeliveryError) as err:
            send(digest, store, settings(port, "starttls", password="wrong-pass"), base_delay=0)
    assert "wrong-pass" not in str(err.value)
