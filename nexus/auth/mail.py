"""Outgoing e-mail: SMTP when ``NEXUS_SMTP_HOST`` is set, else an outbox folder.

The embedded default writes each message as an ``.eml`` file (mode 0600) to
``<data dir>/outbox/``; the README tells operators to look there for reset links. Log lines
name the file, never the message body (it carries single-use links).
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from nexus.settings import Settings

log = logging.getLogger(__name__)


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    # 8bit keeps links intact for readers (quoted-printable would turn "=" into "=3D").
    message.set_content(body, cte="8bit")
    if settings.smtp_host:
        _send_smtp(settings, message)
        log.info("mail %r sent by SMTP", subject)
        return
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    partial = folder / f".{name}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(message))
    os.replace(partial, folder / name)  # readers never see half a message
    log.info("mail %r written to %s (no SMTP server configured)", subject, folder / name)


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    password = settings.smtp_password.get_secret_value()
    if settings.smtp_port == 465:
        with smtplib.SMTP_SSL(settings.smtp_host, 465, context=context, timeout=20) as smtp:
            if settings.smtp_user:
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)
