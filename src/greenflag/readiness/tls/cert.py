"""The certificate facts: names, validity, key, signatures, chain of trust, stapled OCSP.

Trust is decided by OpenSSL's chain builder (pyOpenSSL `X509StoreContext`) against the system store or only the
`--ca-file` given, at a moment inside the leaf's validity so that "expired" and "untrusted" stay two findings.
Like testssl.sh's `openssl verify`, it checks the chain, not key sizes or hashes: those are graded separately.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID, NameOID
from OpenSSL import crypto

__all__ = ["analyse", "issuer_urls", "load_anchors", "matches_name"]

_SELF_SIGNED = {18, 19}  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
_NO_ISSUER = {2, 20}  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)


def load_anchors(ca_file: str | None) -> crypto.X509Store:
    """The trust store: only `ca_file` when given, else the system's default locations."""
    store = crypto.X509Store()
    if ca_file:
        store.load_locations(ca_file)
    else:
        paths = ssl.get_default_verify_paths()
        store.load_locations(paths.cafile, paths.capath)
    return store


def _name(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else cert.subject.rfc4514_string()


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return (str(cn[0].value).lower(),) if cn else ()
    return tuple(n.lower() for n in san.get_values_for_type(x509.DNSName)) + tuple(
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    )


def matches_name(names: Sequence[str], host: str) -> bool:
    """RFC 6125 §6.4: exact match, or a wildcard as the whole left-most label of a name with ≥ 2 more labels."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    for name in names:
        if ip is not None:
            if name == str(ip):
                return True
            continue
        if name == host:
            return True
        if name.startswith("*.") and name.count(".") >= 2:
            _, _, rest = host.partition(".")
            if rest == name[2:] and "." in rest:
                return True
    return False


def _key(cert: x509.Certificate) -> tuple[str, int, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, key.public_numbers().e
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 253, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return type(key).__name__, 0, None


def _hash(cert: x509.Certificate) -> str:
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:  # Ed25519/Ed448 sign without a separate hash
        return cert.signature_algorithm_oid._name.lower()
    return algorithm.name


def issuer_urls(cert: x509.Certificate) -> list[str]:
    """Authority Information Access caIssuers URLs (where a client can fetch a missing intermediate)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [str(d.access_location.value) for d in aia
            if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]  # fmt: skip


def verify(store: crypto.X509Store, chain: Sequence[x509.Certificate], at: dt.datetime
           ) -> tuple[list[x509.Certificate] | None, int, str]:  # fmt: skip
    """OpenSSL's chain builder → (verified chain or None, OpenSSL error code, message)."""
    store.set_time(at)
    leaf, *rest = [crypto.X509.from_cryptography(c) for c in chain]
    ctx = crypto.X509StoreContext(store, leaf, rest)
    try:
        verified = ctx.get_verified_chain()
    except crypto.X509StoreContextError as exc:
        code = int(exc.errors[0]) if exc.errors else 0
        return None, code, str(exc.errors[2]) if len(exc.errors) > 2 else str(exc)
    return [c.to_cryptography() for c in verified], 0, ""


def _ocsp(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        response = ocsp.load_der_ocsp_response(data)
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return f"unsuccessful ({response.response_status.name.lower()})"
        return response.certificate_status.name.lower()
    except ValueError:
        return "unparsable"


def analyse(chain: Sequence[x509.Certificate], host: str, store: crypto.X509Store, *, now: dt.datetime,
            fetched: Sequence[x509.Certificate] = (),
            ocsp_response: bytes | None = None) -> dict[str, object]:  # fmt: skip
    """The CertFacts fields for a served chain (leaf first); `fetched` = intermediates found through AIA."""
    leaf = chain[0]
    names = _names(leaf)
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    moment = min(max(now, start + dt.timedelta(seconds=1)), end - dt.timedelta(seconds=1))
    verified, code, message = verify(store, chain, moment)
    complete = verified is not None
    if verified is None and fetched:
        verified, code2, message2 = verify(store, [*chain, *fetched], moment)
        if verified is None:
            code, message = code2, message2
    self_signed = code in _SELF_SIGNED or (verified is None and leaf.issuer == leaf.subject)
    trust_error = None
    if verified is None:
        trust_error = ("the certificate is self-signed" if self_signed else
                       f"no chain to a trusted root: {message}" if code in _NO_ISSUER else message)  # fmt: skip
    intermediates = verified[1:-1] if verified else list(chain[1:])  # a trust anchor's own signature never counts
    key_type, key_bits, exponent = _key(leaf)
    try:
        feature = leaf.extensions.get_extension_for_class(x509.TLSFeature).value
        must_staple = x509.TLSFeatureType.status_request in feature
    except x509.ExtensionNotFound:
        must_staple = False
    try:
        sct_list = leaf.extensions.get_extension_for_oid(ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS).value
        scts = len(sct_list) if isinstance(sct_list, x509.PrecertificateSignedCertificateTimestamps) else 0
    except x509.ExtensionNotFound:
        scts = 0
    return {
        "subject": _name(leaf), "issuer": leaf.issuer.rfc4514_string(), "names": names,
        "not_before": start.isoformat(), "not_after": end.isoformat(),
        "days_left": (end - now).total_seconds() / 86400, "not_yet_valid": now < start,
        "key_type": key_type, "key_bits": key_bits, "rsa_exponent": exponent, "signature_hash": _hash(leaf),
        "chain_signature_hashes": tuple(_hash(c) for c in intermediates),
        "name_match": matches_name(names, host), "trusted": verified is not None, "trust_error": trust_error,
        "self_signed": self_signed, "chain_complete": complete, "served_chain": tuple(_name(c) for c in chain),
        "must_staple": must_staple, "sct_count": scts, "ocsp_stapled": ocsp_response is not None,
        "ocsp_status": _ocsp(ocsp_response),
    }  # fmt: skip

