"""The mails alerts send, as RFC 5322 bytes: a confirmation, and a digest of new papers.

Each has a plain-text part (and an HTML one beside it), and every mail carries the
one-click unsubscribe of RFC 8058: ``List-Unsubscribe`` with the signed link and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. Header values are built by the
``email`` package from checked addresses and from text with its line breaks and control
characters removed, so nothing a corpus or a query holds can add a header.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from html import escape

from search.answers.results import Hit

MAX_SUBJECT = 150
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """Text safe for a header: no line break or control character, at most ``limit``."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _message(sender: str, recipient: str, subject: str, unsubscribe: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def confirmation(sender: str, recipient: str, title: str, confirm: str) -> bytes:
    """The double opt-in mail: nothing is sent to the address until its link is followed."""
    subject = f"Confirm your papersearch alert: {title}"
    message = _message(sender, recipient, subject, None)
    text = (f"Someone (we hope you) asked papersearch to email this address {one_line(title)} "
            f"after each index update.\n\nTo confirm, open this link within 3 days:\n{confirm}\n\n"
            "If it was not you, ignore this mail: nothing will be sent.\n")  # fmt: skip
    message.set_content(text)
    message.add_alternative(
        f"<p>Someone (we hope you) asked papersearch to email this address "
        f"{escape(one_line(title))} after each index update.</p>"
        f'<p><a href="{escape(confirm)}">Confirm the alert</a> (the link lasts 3 days).</p>'
        "<p>If it was not you, ignore this mail: nothing will be sent.</p>",
        subtype="html",
    )
    return message.as_bytes(policy=SMTP)  # CRLF line ends, as SMTP sends them


def digest(sender: str, recipient: str, title: str, hits: list[Hit], page: str,
           unsubscribe: str, paper_url) -> bytes:  # fmt: skip
    """One digest: the new papers, each with its authors, year and link."""
    count = f"{len(hits)} new paper{'s' if len(hits) != 1 else ''}"
    message = _message(sender, recipient, f"papersearch: {count}: {title}", unsubscribe)
    lines = [f"{count} since the last digest: {one_line(title, 500)}", ""]
    items = []
    for hit in hits:
        facts = ", ".join(str(f) for f in (_authors(hit), hit.year, hit.venue) if f)
        lines += [f"- {one_line(hit.title, 500)}", f"  {facts}", f"  {paper_url(hit)}", ""]
        items.append(f'<li><a href="{escape(paper_url(hit))}">{escape(one_line(hit.title, 500))}'
                     f"</a><br>{escape(facts)}</li>")  # fmt: skip
    lines += [f"All of them: {page}", "", f"Unsubscribe (one click): {unsubscribe}", ""]
    message.set_content("\n".join(lines))
    message.add_alternative(
        f"<p>{escape(count)} since the last digest: {escape(one_line(title, 500))}</p>"
        f'<ul>{"".join(items)}</ul><p><a href="{escape(page)}">All of them</a> · '
        f'<a href="{escape(unsubscribe)}">Unsubscribe</a></p>',
        subtype="html",
    )
    return message.as_bytes(policy=SMTP)  # CRLF line ends, as SMTP sends them


def _authors(hit: Hit) -> str:
    names = [one_line(a, 100) for a in hit.authors[:3]]
    return ", ".join(names) + (" et al." if len(hit.authors) > 3 else "")
