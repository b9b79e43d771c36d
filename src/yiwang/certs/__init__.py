"""电子证照: e-certificates, their issuers' keys, and a verifiable RFC 6962 transparency log."""
