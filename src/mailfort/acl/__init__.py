"""Least privilege: RFC 4314 rights, the one policy decision, roles, quotas, safe names."""

__all__: list[str] = []
