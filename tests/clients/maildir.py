"""Reading and editing a Maildir the way a user's mail program would (maildir(5), the
``:2,FLAGS`` info suffix), and the standard Maildir letter <-> IMAP system flag mapping."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["LETTER_OF", "MaildirMessage", "imap_flags", "letters", "read_maildir", "set_flags",
           "add_new", "fingerprint"]

LETTER_OF: Final = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                    "\\Deleted": "T"}
_FLAG_OF: Final = {v: k for k, v in LETTER_OF.items()}
_INFO: Final = ":2,"


def letters(flags: Iterable[str]) -> frozenset[str]:
    """IMAP system flags -> Maildir letters (keywords and \\Recent are not mapped)."""
    return frozenset(LETTER_OF[f] for f in flags if f in LETTER_OF)


def imap_flags(maildir_letters: Iterable[str]) -> frozenset[str]:
    return frozenset(_FLAG_OF[c] for c in maildir_letters if c in _FLAG_OF)


@dataclass(frozen=True, slots=True)
class MaildirMessage:
    path: Path
    flags: frozenset[str]  # Maildir letters
    subject: str
    content: bytes


def _subject(content: bytes) -> str:
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    value = parser.parsebytes(content).get("Subject")
    return str(value).strip() if value is not None else ""


def read_maildir(folder: Path) -> dict[str, MaildirMessage]:
    """Every message in ``folder``'s cur/ and new/, keyed by Subject (asserted unique)."""
    out: dict[str, MaildirMessage] = {}
    for sub in ("cur", "new"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            info = path.name.rsplit(_INFO, 1)[1] if _INFO in path.name else ""
            content = path.read_bytes()
            msg = MaildirMessage(path, frozenset(info), _subject(content), content)
            assert msg.subject not in out, f"two local copies of {msg.subject!r}: " \
                                           f"{out[msg.subject].path.name}, {path.name}"
            out[msg.subject] = msg
    return out


def set_flags(msg: MaildirMessage, new_letters: Iterable[str]) -> Path:
    """Rename the message file so its info carries exactly ``new_letters`` (as a MUA does;
    a message that gets flags moves from new/ to cur/)."""
    base = msg.path.name.split(_INFO, 1)[0]
    target = msg.path.parent.parent / "cur" / (base + _INFO + "".join(sorted(new_letters)))
    os.rename(msg.path, target)
    return target


def add_new(folder: Path, content: bytes, seq: int) -> Path:
    """Deliver a message into new/ the Maildir way (write in tmp/, then rename)."""
    name = f"{int(time.time())}.M{seq}P{os.getpid()}.mailfort-test"
    tmp = folder / "tmp" / name
    tmp.write_bytes(content)
    target = folder / "new" / name
    os.rename(tmp, target)
    return target


def fingerprint(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every message file: a cheap "did anything change?" probe."""
    out: dict[str, str] = {}
    for sub in ("cur", "new", "tmp"):
        directory = folder / sub
        if directory.is_dir():
            for path in directory.iterdir():
                if not path.name.startswith("."):
                    out[f"{sub}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
