"""SASL mechanisms (one module each): PLAIN, LOGIN, OAUTHBEARER, XOAUTH2."""

from mailfort.auth.sasl.mechanism import (
                                          BearerCredentials,
                                          Challenge,
                                          Credentials,
                                          Mechanism,
                                          PasswordCredentials,
                                          SaslFailed,
)
from mailfort.auth.sasl.registry import MECHANISMS, advertised, create

__all__ = ["BearerCredentials", "Challenge", "Credentials", "Mechanism", "PasswordCredentials",
           "SaslFailed", "MECHANISMS", "advertised", "create"]
