"""Email alerts against a real SMTP server on loopback (aiosmtpd): subscribe through the
page, confirm through the mailed link, publish a build with new matching papers and read
exactly one digest per subscription; nothing when nothing is new; unsubscribe with one
POST; bad input is a clear 4xx that sends nothing; a relay that fails is retried with
back-off and counted; STARTTLS with a login."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from unittest import mock
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from indexer.pipeline import index_corpus, run
from search.alerts.delivery import BACKOFF_MINUTES, deliver
from search.base.metrics import ALERT_MAILS
from search.store import Store
from tests.helpers import free_port

PUBLIC = "http://papers.test"


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.mails.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def take(self) -> list[tuple[list[str], email.message.EmailMessage]]:
        with self.lock:
            taken, self.mails = self.mails, []
        return taken


@contextmanager
def smtp_server(**options):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def relay():
    with smtp_server() as (controller, inbox):
        yield controller.port, inbox


def paper(n: int, topic: str) -> dict:
    return {"id": f"2401.{n:05d}", "title": f"{topic} study number {n} of many things",
            "summary": f"We study {topic} and more {topic}.", "authors": ["Ada Lovelace"],
            "categories": ["cs.LG"], "listing_date": "2024-01-10"}  # fmt: skip


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def mailing(settings, relay, tmp_path, tiny_encoder):
    port, inbox = relay
    settings = settings.replace(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                                public_url=PUBLIC, alert_client_limit=6,
                                alert_address_limit=3)  # fmt: skip
    index_corpus(settings, [write(tmp_path / "day0.jsonl",
                                  [paper(n, "graph") for n in range(6)])],
                 encoder=tiny_encoder)  # fmt: skip
    return settings, inbox


def link_in(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(re.escape(PUBLIC + path) + r"\?token=[\w.\-]+", text)
    assert found, text
    return found.group(0)


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def subscribe(client, inbox, address: str, **target) -> str:
    """Subscribe through the form and confirm through the mailed link."""
    page = client.get("/alerts", query_string=target)
    assert page.status_code == 200 and "Email me new papers" in page.get_data(as_text=True)
    asked = client.post("/alerts", data={"address": address, **target})
    assert asked.status_code == 200 and "If this address can receive mail" in asked.get_data(
        as_text=True)  # fmt: skip
    ((to, message),) = inbox.take()
    assert to == [address] and "List-Unsubscribe" not in message  # a confirmation only
    confirm = local(link_in(message, "/alerts/confirm"))
    shown = client.get(confirm)
    assert shown.status_code == 200 and "Confirm the alert" in shown.get_data(as_text=True)
    done = client.post("/alerts/confirm", data={"token": confirm.split("token=")[1]})
    assert done.status_code == 200 and "Confirmed" in done.get_data(as_text=True)
    assert inbox.take() == []  # nothing else until there is something new
    return confirm


def test_subscribe_confirm_digest_once_and_unsubscribe(mailing, client_on, tmp_path,
                                                       tiny_encoder):  # fmt: skip
    settings, inbox = mailing
    client = client_on(settings)
    subscribe(client, inbox, "ada@example.org", kind="search", q="graph", mode="keyword")
    subscribe(client, inbox, "alan@example.org", kind="author", author="Ada Lovelace")
    pending = client.post("/alerts", data={"address": "nobody@example.org", "kind": "search",
                                           "q": "graph"})  # fmt: skip
    assert pending.status_code == 200 and len(inbox.take()) == 1  # never confirmed
    new = [paper(n, "graph") for n in range(10, 13)] + [paper(20, "protein")]
    summary = run(settings, [write(tmp_path / "day1.jsonl", new)], encoder=tiny_encoder)
    assert summary.published and summary.alerts["digests"] == 2
    mails = {to[0]: message for to, message in inbox.take()}
    assert set(mails) == {"ada@example.org", "alan@example.org"}  # one each, none unconfirmed
    digest = mails["ada@example.org"]
    text = digest.get_body(("plain",)).get_content()
    assert all(f"study number {n} " in text for n in (10, 11, 12))
    assert "study number 0 " not in text  # in the index before the subscription
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = digest["List-Unsubscribe"].strip("<>")
    assert unsubscribe == link_in(digest, "/alerts/unsubscribe")
    assert "study number 20 " in mails["alan@example.org"].get_body(("plain",)).get_content()

    again = run(settings, [write(tmp_path / "day1.jsonl", new)], encoder=tiny_encoder)
    assert not again.published and inbox.take() == []  # nothing published, nothing sent
    other = run(settings, [write(tmp_path / "day2.jsonl", [paper(30, "protein")])],
                encoder=tiny_encoder)  # fmt: skip
    assert other.published
    ((to, _),) = inbox.take()  # the author's new paper; nothing new for "graph"
    assert to == ["alan@example.org"]

    one_click = client.post(local(unsubscribe), data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.get_data(as_text=True)
    run(settings, [write(tmp_path / "day3.jsonl", [paper(40, "graph")])], encoder=tiny_encoder)
    assert [to for to, _ in inbox.take()] == [["alan@example.org"]]  # ada no longer


def test_asking_again_reveals_nothing_and_mails_nothing_when_confirmed(mailing, client_on):
    settings, inbox = mailing
    client = client_on(settings)
    subscribe(client, inbox, "ada@example.org", kind="search", q="graph", mode="keyword")
    again = client.post("/alerts", data={"address": "ada@example.org", "kind": "search",
                                         "q": "graph", "mode": "keyword"})  # fmt: skip
    fresh = client.post("/alerts", data={"address": "eve@example.org", "kind": "search",
                                         "q": "graph", "mode": "keyword"})  # fmt: skip
    assert again.get_data(as_text=True) == fresh.get_data(as_text=True)
    assert [to for to, _ in inbox.take()] == [["eve@example.org"]]


@pytest.mark.parametrize("address", [
    "not-an-address", "", "a@b", "ada@example.org\r\nBcc: eve@example.org",
    "ada@example.org, eve@example.org", "Ada <ada@example.org>", "x" * 250 + "@example.org",
])  # fmt: skip
def test_bad_addresses_are_refused_and_send_nothing(mailing, client_on, address):
    settings, inbox = mailing
    answer = client_on(settings).post("/alerts", data={"address": address, "kind": "search",
                                                      "q": "graph"})  # fmt: skip
    assert answer.status_code == 400 and "address" in answer.get_data(as_text=True)
    assert inbox.take() == []


def test_search_text_cannot_add_a_header(mailing, client_on):
    settings, inbox = mailing
    injected = "graph\r\nBcc: eve@example.org"
    client_on(settings).post("/alerts", data={"address": "ada@example.org", "kind": "search",
                                              "q": injected})  # fmt: skip
    ((to, message),) = inbox.take()
    assert to == ["ada@example.org"] and "Bcc" not in message
    assert "\n" not in message["Subject"]


def test_forged_expired_and_replaced_links_are_refused(mailing, client_on):
    settings, inbox = mailing
    client = client_on(settings)
    for path in ("/alerts/confirm?token=forged", "/alerts/unsubscribe?token=abc.def",
                 "/alerts/confirm?token=" + "x" * 1000):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 400 and "not one papersearch wrote" in answer.get_data(
            as_text=True)  # fmt: skip
    assert client.post("/alerts/unsubscribe?token=forged").status_code == 400
    old = datetime.now(timezone.utc) - timedelta(days=4)
    with mock.patch("itsdangerous.timed.time.time", return_value=old.timestamp()):
        client.post("/alerts", data={"address": "ada@example.org", "kind": "search",
                                     "q": "graph"})  # fmt: skip
    expired = local(link_in(inbox.take()[0][1], "/alerts/confirm"))
    answer = client.get(expired)
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    client.post("/alerts", data={"address": "bob@example.org", "kind": "search", "q": "graph"})
    first = local(link_in(inbox.take()[0][1], "/alerts/confirm"))
    client.post("/alerts", data={"address": "bob@example.org", "kind": "search", "q": "graph"})
    inbox.take()
    replaced = client.post("/alerts/confirm", data={"token": first.split("token=")[1]})
    assert replaced.status_code == 400  # asking again made the first link stop working


def test_a_flood_is_limited_per_client_and_per_address(mailing, client_on):
    settings, inbox = mailing
    client = client_on(settings)
    codes = [client.post("/alerts", data={"address": "ada@example.org", "kind": "search",
                                          "q": "graph"}).status_code for _ in range(5)]  # fmt: skip
    assert codes == [200, 200, 200, 429, 429]  # 3 confirmations a day to one address
    assert len(inbox.take()) == 3
    codes = [client.post("/alerts", data={"address": f"u{i}@example.org", "kind": "search",
                                          "q": "graph"}).status_code for i in range(3)]  # fmt: skip
    assert codes == [200, 429, 429]  # 6 requests an hour from one client
    assert len(inbox.take()) == 1


def test_without_a_relay_alerts_are_off_and_the_pages_say_so(settings, tmp_path, tiny_encoder,
                                                              client_on):  # fmt: skip
    index_corpus(settings, [write(tmp_path / "c.jsonl", [paper(1, "graph")])],
                 encoder=tiny_encoder)  # fmt: skip
    client = client_on(settings)
    page = client.get("/alerts?kind=search&q=graph").get_data(as_text=True)
    assert "Email alerts are off on this server" in page
    answer = client.post("/alerts", data={"address": "ada@example.org", "q": "graph"})
    assert answer.status_code == 404 and "alerts are off" in answer.get_data(as_text=True)


def test_a_failing_relay_is_retried_with_back_off_and_counted(mailing, client_on):
    settings, inbox = mailing
    down = settings.replace(smtp_port=free_port())  # nothing listens there
    before = ALERT_MAILS.labels("confirm", "retry")._value.get()
    client_on(down).post("/alerts", data={"address": "ada@example.org", "kind": "search",
                                          "q": "graph"})  # fmt: skip
    assert ALERT_MAILS.labels("confirm", "retry")._value.get() == before + 1
    rows = Store.open(settings).alerts
    assert rows.outbox_counts() == {"queued": 1}
    assert deliver(settings, rows).sent == 0  # not due yet: back-off
    later = datetime.now(timezone.utc) + timedelta(minutes=BACKOFF_MINUTES[0] + 1)
    assert deliver(settings, rows, now=later).sent == 1
    assert [to for to, _ in inbox.take()] == [["ada@example.org"]]
    for attempt in range(len(BACKOFF_MINUTES) + 1):  # a relay down for good: failed, kept
        rows.queue("digest", "bob@example.org", b"Subject: x\r\n\r\nx\r\n")
        far = later + timedelta(days=attempt + 1)
        deliver(down, rows, now=far)
    assert rows.outbox_counts().get("failed", 0) == 1


def test_starttls_and_a_login(mailing, tmp_path):
    """The relay over STARTTLS with credentials: a server that requires both."""
    import ssl
    import subprocess

    from aiosmtpd.smtp import AuthResult

    settings, _ = mailing
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"papers" and auth_data.password == b"s3cret"
        return AuthResult(success=ok)

    with smtp_server(tls_context=context, require_starttls=True, auth_require_tls=True,
                     authenticator=check, auth_required=True) as (controller, inbox):  # fmt: skip
        secure = settings.replace(smtp_port=controller.port, smtp_security="starttls",
                                  smtp_user="papers", smtp_password="s3cret")  # fmt: skip
        rows = Store.open(settings).alerts
        rows.queue("digest", "ada@example.org", b"Subject: hello\r\n\r\nhi\r\n")
        with mock.patch.dict("os.environ", {"SSL_CERT_FILE": str(cert)}):
            assert deliver(secure, rows).sent == 1
        assert [to for to, _ in inbox.take()] == [["ada@example.org"]]
        wrong = secure.replace(smtp_password="wrong")
        rows.queue("digest", "bob@example.org", b"Subject: hello\r\n\r\nhi\r\n")
        with mock.patch.dict("os.environ", {"SSL_CERT_FILE": str(cert)}):
            assert deliver(wrong, rows).retried == 1  # refused: queued again, not lost
