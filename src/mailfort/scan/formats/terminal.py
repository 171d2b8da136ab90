"""The human report in the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailfort.scan.report import ScanReport, Severity

__all__ = ["render_terminal"]

_STYLE = {
    Severity.CRITICAL: "bold white on magenta",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render_terminal(report: ScanReport, console: Console, *, verbose: bool = False) -> None:
    for host in report.hosts:
        console.rule(Text(host.host, style="bold"))
        if not host.reachable:
            console.print(
                f"[red]unreachable[/red]: {host.error or ''}", markup=True, highlight=False
            )
        for p in host.ports:
            console.print(
                Text(
                    f"  port {p.port}/{p.transport.value}"
                    + (" STARTTLS" if p.starttls_offered else "")
                    + f": {p.greeting}"
                )
            )
        if not host.findings:
            console.print("  no findings")
            continue
        table = Table(show_lines=verbose, expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("id", no_wrap=True)
        table.add_column("port", no_wrap=True)
        table.add_column("finding")
        for f in host.findings:
            detail = Text(f.title, style="bold")
            if verbose:
                detail.append("\n" + f.evidence, style="dim")
            detail.append("\nfix: " + f.remediation)
            if f.references:
                detail.append("\nrefs: " + ", ".join(f.references), style="dim")
            table.add_row(
                Text(f.severity.value, style=_STYLE[f.severity]), f.id, str(f.port or ""), detail
            )
        console.print(table)
