"""Report renderers: terminal (rich), JSON, SARIF 2.1.0 and self-contained HTML."""

__all__: list[str] = []
