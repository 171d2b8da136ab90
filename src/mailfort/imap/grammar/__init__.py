"""The IMAP command grammar: bytes of one framed command → ``commands.Command``."""

from mailfort.imap.grammar.atoms import ParseContext
from mailfort.imap.grammar.parser import VERBS, parse_command

__all__ = ["ParseContext", "parse_command", "VERBS"]
