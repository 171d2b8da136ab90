"""Mailfort: a secure-by-default IMAP server."""

__all__: list[str] = []
