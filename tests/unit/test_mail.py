"""Mail delivery: a real SMTP server on 127.0.0.1 when configured, the outbox otherwise."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller

from nexus.auth.mail import outbox_dir, send_mail
from nexus.settings import load_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_delivery_keeps_the_link_intact(tmp_path):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(
            {
                "NEXUS_DATA_DIR": str(tmp_path),
                "NEXUS_SMTP_HOST": "127.0.0.1",
                "NEXUS_SMTP_PORT": str(port),
                "NEXUS_MAIL_FROM": "Nexus <nexus@example.com>",
            }
        )
        link = "http://localhost:8501/?reset=abc_DEF-123=="
        send_mail(settings, "ann@example.com", "Reset", "A long first line " * 8 + "\n" + link)
    finally:
        controller.stop()
    [(sender, recipients, content)] = inbox.messages
    assert sender == "nexus@example.com" and recipients == ["ann@example.com"]
    assert link.encode() in content
    assert not outbox_dir(settings).exists()


def test_without_smtp_mail_goes_to_a_private_outbox_file(tmp_path, caplog):
    settings = load_settings({"NEXUS_DATA_DIR": str(tmp_path)})
    caplog.set_level("INFO")
    send_mail(settings, "ann@example.com", "Reset", "secret link: http://x/?reset=TOKEN123")
    [mail] = outbox_dir(settings).glob("*.eml")
    assert oct(mail.stat().st_mode & 0o777) == "0o600"
    assert "TOKEN123" in mail.read_text()
    assert "TOKEN123" not in caplog.text and "outbox" in caplog.text
