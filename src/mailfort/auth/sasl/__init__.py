"""SASL mechanisms (one module each): PLAIN, LOGIN, OAUTHBEARER, XOAUTH2."""

from mailfort.auth.sasl.mechanism import (
                                          BearerCredentials,
                                          Challenge,
                                          Credentials,
                                          Mechanism,
                                          PasswordCredentials,
                                          SaslAuthorizationRefused,
                                          SaslFailed,
)
from mailfort.auth.sasl.registry import MECHANISMS, advertised, create

__all__ = ["BearerCredentials", "Challenge", "Credentials", "Mechanism", "PasswordCredentials",
           "SaslFailed", "SaslAuthorizationRefused", "MECHANISMS", "advertised", "create"]
