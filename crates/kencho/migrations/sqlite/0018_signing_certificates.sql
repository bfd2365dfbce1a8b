-- An office's certificate for embedded PAdES signatures (e.g. an LGPKI 職責証明書) and its
-- optional RFC 3161 time-stamp authority. At most one per tenant is in use (removed_at IS
-- NULL); a replaced or removed one keeps its row (certificate, fingerprint, who and when) for
-- the record, with its private key erased.
CREATE TABLE signing_certificates (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    cert_id TEXT NOT NULL UNIQUE,
    -- PEM, the signer's certificate first, then its chain.
    chain_pem TEXT NOT NULL,
    -- PKCS#8 DER, base64, sealed with the Keyring (place signing_certificates.private_key:<cert_id>).
    private_key TEXT,
    key_algorithm TEXT NOT NULL,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    tsa_url TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE INDEX signing_certificates_tenant ON signing_certificates (tenant_id, removed_at);
