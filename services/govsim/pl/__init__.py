"""KSeF 2.0 (Poland): authentication, online sessions, UPOs under /v2, /_sim/pl."""
