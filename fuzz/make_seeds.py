#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/ (keys, CSRs and certificates are made
with the openssl command; JSON answers, ovh.conf samples and signature vectors come from the
spec, ../shared/spec/ovh-okms-api.md). Run from the repository root:

    python3 fuzz/make_seeds.py

Files are named by content, so running it again adds new key material next to the old:
delete fuzz/corpus/<target>/ first to replace a corpus. Each file stays under 16 KiB.
"""
import hashlib, json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
PASS = "okms-fuzz"  # okms_e2e_tests::fuzz_targets::SEED_PASSPHRASE

def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 16 * 1024, (target, name, len(data))
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def ossl(tmp, *args, stdin=None):
    return subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True,
                          input=stdin).stdout

def main():
    tmp = tempfile.mkdtemp()
    try:
        keys(tmp)
        csrs_and_certs(tmp)
    finally:
        shutil.rmtree(tmp)
    dns()
    requests()
    answers()
    confs()
    signatures()
    iam()
    policies()

KEYS = {}

def keys(tmp):
    specs = {
        "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "p521": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "rsa3072": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
    }
    for name, opts in specs.items():
        ossl(tmp, "genpkey", *opts, "-out", f"{name}.pem")
        pem = open(os.path.join(tmp, f"{name}.pem"), "rb").read()
        KEYS[name] = f"{name}.pem"
        put("key_import", f"{name}-pkcs8.pem", pem)
        put("key_import", f"{name}-pkcs8.der",
            ossl(tmp, "pkey", "-in", f"{name}.pem", "-outform", "DER"))
        put("key_import", f"{name}-traditional.pem",
            ossl(tmp, "pkey", "-in", f"{name}.pem", "-traditional"))
        put("key_import", f"{name}-traditional.der",
            ossl(tmp, "pkey", "-in", f"{name}.pem", "-traditional", "-outform", "DER"))
        # Encrypted PKCS#8, cheap KDF settings so the fuzzer stays fast.
        put("key_import", f"{name}-enc-pbkdf2-aes256.pem",
            ossl(tmp, "pkcs8", "-topk8", "-in", f"{name}.pem", "-v2", "aes-256-cbc",
                 "-iter", "8", "-passout", f"pass:{PASS}"))
    put("key_import", "p256-enc-pbkdf2-aes128-sha256.der",
        ossl(tmp, "pkcs8", "-topk8", "-in", "p256.pem", "-v2", "aes-128-cbc", "-v2prf",
             "hmacWithSHA256", "-iter", "8", "-outform", "DER", "-passout", f"pass:{PASS}"))
    put("key_import", "p256-enc-3des.pem",
        ossl(tmp, "pkcs8", "-topk8", "-in", "p256.pem", "-v2", "des3", "-iter", "8",
             "-passout", f"pass:{PASS}"))
    put("key_import", "p384-enc-scrypt.pem",
        ossl(tmp, "pkcs8", "-topk8", "-in", "p384.pem", "-scrypt", "-scrypt_N", "1024",
             "-scrypt_r", "8", "-scrypt_p", "1", "-passout", f"pass:{PASS}"))
    put("key_import", "p256-enc-pbes1-refused.pem",
        ossl(tmp, "pkcs8", "-topk8", "-in", "p256.pem", "-v1", "PBE-SHA1-3DES", "-iter", "8",
             "-passout", f"pass:{PASS}"))
    put("key_import", "rsa2048-legacy-proc-type-refused.pem",
        ossl(tmp, "rsa", "-in", "rsa2048.pem", "-traditional", "-aes128", "-passout",
             f"pass:{PASS}"))
    # SEC1 with a leading EC PARAMETERS block, as `openssl ecparam -genkey` writes.
    put("key_import", "p256-sec1-with-params.pem",
        ossl(tmp, "ecparam", "-name", "prime256v1", "-genkey"))
    # Refused kinds.
    ossl(tmp, "genpkey", "-algorithm", "ED25519", "-out", "ed.pem")
    put("key_import", "ed25519-refused.pem", open(os.path.join(tmp, "ed.pem"), "rb").read())
    put("key_import", "secp256k1-refused.pem",
        ossl(tmp, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"))
    put("key_import", "rsa1024-refused.pem",
        ossl(tmp, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"))
    pem = open(os.path.join(tmp, "p256.pem")).read()
    put("key_import", "truncated.pem", pem[: len(pem) // 2])
    put("key_import", "crlf.pem", pem.replace("\n", "\r\n"))
    # A key in the PEM corpus too, and its escaped forms.
    put("pem_unescape", "p256-pkcs8.pem", pem)
    put("pem_unescape", "p256-escaped.txt", pem.replace("\n", "\\n"))
    put("pem_unescape", "p256-json-string.txt", json.dumps(pem))
    put("pem_unescape", "created-credential-field.txt",
        "privateKeyPEM\0" + json.dumps({"id": "x", "privateKeyPEM": pem,
                                          "certificatePEM": None}))

def csrs_and_certs(tmp):
    ext = ("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n"
           "subjectAltName=DNS:app1.example.com,IP:192.0.2.1,email:ops@example.com,"
           "URI:https://example.com/app1\n")
    open(os.path.join(tmp, "req.cnf"), "w").write(ext)
    for name, key in KEYS.items():
        md = {"p384": "-sha384", "p521": "-sha512"}.get(name, "-sha256")
        pem = ossl(tmp, "req", "-new", "-key", key, md, "-subj",
                   "/C=FR/O=Example/OU=ops+OU=dev/CN=app1", "-config", "req.cnf",
                   "-reqexts", "ext")
        put("csr_parse_verify", f"{name}.csr.pem", pem)
        open(os.path.join(tmp, f"{name}.csr"), "wb").write(pem)
        put("csr_parse_verify", f"{name}.csr.der",
            ossl(tmp, "req", "-in", f"{name}.csr", "-outform", "DER"))
        put("pem_escape_roundtrip", f"{name}.csr",
            b"\x01" + ossl(tmp, "req", "-in", f"{name}.csr", "-outform", "DER"))
    p256 = open(os.path.join(tmp, "p256.csr")).read()
    put("pem_unescape", "csr.pem", p256)
    put("pem_unescape", "csr-crlf.pem", p256.replace("\n", "\r\n"))
    put("request_file_parse", "request-with-csr.json",
        json.dumps({"name": "app1", "identityURNs":
                    ["urn:v1:eu:identity:account:xx1111-ovh"], "description": "app1 access",
                    "validity": 30, "csr": p256}, separators=(",", ":")) + "\n")
    put("csr_parse_verify", "new-certificate-request-label.pem",
        p256.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"))
    put("csr_parse_verify", "p256-sha1-refused.csr.pem",
        ossl(tmp, "req", "-new", "-key", "p256.pem", "-sha1", "-subj", "/CN=app1"))
    put("csr_parse_verify", "p384-signed-sha256.csr.pem",
        ossl(tmp, "req", "-new", "-key", "p384.pem", "-sha256", "-subj", "/CN=app1"))
    der = bytearray(ossl(tmp, "req", "-in", "p256.csr", "-outform", "DER"))
    der[-5] ^= 0x01
    put("csr_parse_verify", "broken-signature.csr.der", bytes(der))
    # An OKMS-shaped certificate: UUID serial, okms.domain otherName SAN, clientAuth.
    ossl(tmp, "req", "-x509", "-new", "-key", "p256.pem", "-subj",
         "/CN=e90c5841-f39e-4983-8596-62ff0c538b6b", "-days", "3650", "-out", "ca.pem")
    okms_ext = ("[ext]\nsubjectAltName = critical, otherName:1.3.6.1.4.1.311.20.2.3;"
                "UTF8:okms.domain:e90c5841-f39e-4983-8596-62ff0c538b6b\n"
                "extendedKeyUsage = clientAuth\n"
                "keyUsage = critical, digitalSignature, keyAgreement\n")
    open(os.path.join(tmp, "ext.cnf"), "w").write(okms_ext)
    for name in ("p256", "rsa2048"):
        ossl(tmp, "req", "-new", "-key", KEYS[name], "-subj",
             "/CN=e90c5841-f39e-4983-8596-62ff0c538b6b", "-out", f"{name}-okms.csr")
        cert = ossl(tmp, "x509", "-req", "-in", f"{name}-okms.csr", "-CA", "ca.pem",
                    "-CAkey", "p256.pem", "-set_serial",
                    "0x3f1c2b7e9a8d4c6b8e2f1a0b9c8d7e6f", "-days", "365", "-extfile",
                    "ext.cnf", "-extensions", "ext")
        put("certificate_inspect", f"okms-{name}.cert.pem", cert)
        open(os.path.join(tmp, "c.pem"), "wb").write(cert)
        put("certificate_inspect", f"okms-{name}.cert.der",
            ossl(tmp, "x509", "-in", "c.pem", "-outform", "DER"))
        if name == "p256":
            put("pem_unescape", "okms-cert.pem", cert)
            put("pem_unescape", "get-credential-answer.txt",
                json.dumps({"id": "3f1c2b7e-9a8d-4c6b-8e2f-1a0b9c8d7e6f", "status": "READY",
                            "certificatePEM": cert.decode()}))
            put("pem_unescape", "chain.pem",
                cert + open(os.path.join(tmp, "ca.pem"), "rb").read())
            put("pem_escape_roundtrip", "okms-cert", b"\x00" +
                ossl(tmp, "x509", "-in", "c.pem", "-outform", "DER"))
            OKMS_CERT.append(cert.decode())
    put("certificate_inspect", "ca-self-signed.pem", open(os.path.join(tmp, "ca.pem")).read())
    fixture = os.path.join(ROOT, "crates", "okms-cli", "tests", "fixtures", "client.cert")
    put("certificate_inspect", "client-fixture.cert", open(fixture, "rb").read())
    put("certificate_inspect", "a-csr-not-a-cert.pem", open(os.path.join(tmp, "p256.csr")).read())

OKMS_CERT = []

def dns():
    for i, dn in enumerate([
        "CN=app1,O=Example,C=FR",
        "CN=app1",
        "CN=e90c5841-f39e-4983-8596-62ff0c538b6b",
        "CN=a\\,b\\+c\\=d\\\\e,OU=ops+OU=dev,O=Example\\, Inc.,L=Roubaix,ST=Nord,C=FR",
        "emailAddress=ops@example.com,UID=jdoe,DC=example,DC=com",
        "2.5.4.3=app1,2.5.4.10=Example",
        "CN=#0c0461707031",
        "CN=\\ leading and trailing\\ ,serialNumber=1234,title=admin,GN=John,SN=Smith",
        "CN=caf\u00e9 \u65e5\u672c",
        "C=fr",
        "CN=",
        "STREET=1 rue de la Paix,postalCode=59100",
    ]):
        put("dn_parse", f"dn-{i:02}.txt", dn)

def requests():
    put("request_file_parse", "spec-example.json",
        '{ "description": "My access credential",\n  "identityURNs": ["urn:v1:eu:identity:user:'
        'xx1111-ovh/john.smith","urn:v1:eu:identity:group:xx1111-ovh/my_group"],\n  "name": '
        '"John Smith", "validity": 30 }\n')
    put("request_file_parse", "generated-key.json", json.dumps(
        {"name": "svc", "identityURNs": [
            "urn:v1:ca:identity:credential:xx1111-ovh/oauth2-0123456789abcdef",
            "urn:v1:us:identity:account:xx1111-ovh"], "certificateType": "RSA"}))
    put("request_file_parse", "unknown-field.json",
        '{"name":"a","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"],"valdity":3}')
    put("request_file_parse", "validity-366.json",
        '{"name":"a","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"],"validity":366}')

def answer(op, status, body, cursor="", retry="", qid=""):
    return bytes([op, status]) + f"{cursor}\n{retry}\n{qid}\n".encode() + (
        body.encode() if isinstance(body, str) else body)

def answers():
    cert = OKMS_CERT[0] if OKMS_CERT else ""
    cred = {"id": "3f1c2b7e-9a8d-4c6b-8e2f-1a0b9c8d7e6f", "name": "John Smith",
            "description": "My access credential",
            "identityURNs": ["urn:v1:eu:identity:user:xx1111-ovh/john.smith"],
            "status": "READY", "fromCSR": True, "certificateType": "ECDSA",
            "createdAt": "2024-04-04T12:26:28.856619+02:00",
            "expiredAt": "2025-04-04T12:26:28.856619+02:00", "certificatePEM": cert}
    creating = dict(cred, status="CREATING", certificatePEM=None)
    domain = {"id": "e90c5841-f39e-4983-8596-62ff0c538b6b", "region": "eu-west-rbx",
              "restEndpoint": "https://eu-west-rbx.okms.ovh.net",
              "kmipEndpoint": "eu-west-rbx.okms.ovh.net:5696",
              "swaggerEndpoint": "https://swagger-eu-west-rbx.okms.ovh.net",
              "serviceKeyCount": 1, "secretCount": 0, "kmipObjectCount": 0,
              "iam": {"id": "e90c5841-f39e-4983-8596-62ff0c538b6b",
                      "urn": "urn:v1:eu:resource:okms:e90c5841-f39e-4983-8596-62ff0c538b6b",
                      "displayName": "my-kms", "tags": {"env": "prod"}, "state": "OK"}}
    key = ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg0m3pZ1Xx8yFqJQ9m3k5Yl1v8f5Rz2t8q4Zs3b2d1"
           "oAoGCCqGSM49\nAwEHoUQDQgAEexample\n-----END EC PRIVATE KEY-----\n")
    seeds = {
        "auth-time": answer(0, 0, "1457018875"),
        "auth-details": answer(1, 0, json.dumps(
            {"account": "xx1111-ovh", "identities": ["urn:v1:eu:identity:account:xx1111-ovh"],
             "method": "account", "description": "app", "roles": [{"id": 1}],
             "allowedRoutes": [{"method": "GET", "path": "/*"}]})),
        "me": answer(2, 0, json.dumps({"nichandle": "xx1111-ovh", "ovhSubsidiary": "FR",
                                        "state": "complete", "country": "FR"})),
        "domain-list-page": answer(3, 0, json.dumps([domain]), cursor="b3BhcXVlLWN1cnNvcg=="),
        "domain-public-ca": answer(4, 0, json.dumps(dict(domain, publicCA=cert))),
        "credential-list": answer(5, 0, json.dumps([cred, creating])),
        "credential-ready": answer(6, 0, json.dumps(cred)),
        "credential-deleting": answer(7, 0, json.dumps(dict(cred, status="DELETING"))),
        "created-generated-key": answer(8, 1, json.dumps(
            dict(creating, fromCSR=False, privateKeyPEM=key))),
        "created-unknown-status": answer(8, 0, json.dumps(dict(creating, status="PAUSED"))),
        "oauth2-token": answer(9, 0, '{"access_token":"MTQ0NjJkZmQ5OTM2NDE1ZTZjNGZmZjI3",'
                                      '"token_type":"Bearer","expires_in":3,"scope":"all"}'),
        "oauth2-token-string-expiry": answer(9, 0, '{"access_token":"abc","token_type":'
                                                   '"bearer","expires_in":"3600"}'),
        "oauth2-error": answer(9, 3, '{"error":"invalid_client", "error_description":'
                                     '"ovhcloud oauth2 client does not exists"}'),
        "error-ovh-iam": answer(6, 5, json.dumps(
            {"class": "Client::Forbidden", "message": "User not granted for this request",
             "details": {"unauthorizedActionsByIAM": "okms:apiovh:resource/credential/get"}}),
            qid="EU.ext-99.foobar"),
        "error-create-class": answer(8, 3, json.dumps(
            {"class": "Client::BadRequest::CredentialNameMaximumExceeded",
             "message": "name too long"})),
        "error-auth-layer": answer(1, 5, '{"errorCode":"NOT_CREDENTIAL","httpCode":'
                                         '"403 Forbidden","message":"This credential does not exist"}'),
        "error-query-time-out": answer(1, 3, '{"errorCode":"QUERY_TIME_OUT","httpCode":'
                                             '"400 Bad Request","message":"Query out of time"}'),
        "error-data-plane": answer(5, 8, '{"error_id":"x","error_code":429,"errors":'
                                         '["Rate limit error"],"request_id":"r"}', retry="2"),
        "error-gateway-html": answer(8, 11, "<html><body>502 Bad Gateway</body></html>"),
        "error-empty": answer(6, 10, ""),
        "delete-empty": answer(7, 2, ""),
        "error-460": answer(6, 9, '{"class":"Client::ResourceExpired","message":"expired"}'),
    }
    for name, data in seeds.items():
        put("api_response_decode", name + ".bin", data)

def confs():
    put("ovh_conf_parse", "spec-sample.conf",
        "[default]\n; general configuration: default endpoint\nendpoint=ovh-eu\n\n[ovh-eu]\n"
        "application_key=my_app_key\napplication_secret=my_application_secret\n"
        "consumer_key=my_consumer_key\n; or, instead:\nclient_id=my_client_id\n"
        "client_secret=my_client_secret\n; or (go-ovh/TF only):\n; access_token=...\n")
    put("ovh_conf_parse", "oauth2.conf",
        "[default]\nendpoint = ovh-ca\n\n[ovh-ca]\nclient_id = 0123456789abcdef\n"
        "client_secret = s3cr3t\n[ovh-cli]\noutput = json\n")
    put("ovh_conf_parse", "url-endpoint.conf",
        "[default]\nendpoint=http://127.0.0.1:8080/1.0\n[http://127.0.0.1:8080/1.0]\n"
        "access_token=tok\n")
    put("ovh_conf_parse", "quirks.conf",
        "# hash comment\n[default]\r\nendpoint=\"ovh-eu\"\r\n[ovh-eu]\n"
        "application_key = spaced value \napplication_secret=a=b;c\n[empty]\n")
    put("ovh_conf_parse", "no-section.conf", "endpoint=ovh-eu\n")

def signatures():
    ak_as_ck_ts = "1457018875"
    body = '{"a":"b","c":"d"}'
    vectors = [
        ("GET", "https://eu.api.ovh.com/1.0/auth", "", "e9556054b6309771395efa467c22e627407461ad"),
        ("POST", "https://eu.api.ovh.com/1.0/auth", body, "ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1"),
        ("PUT", "https://eu.api.ovh.com/1.0/auth", body, "8a75a9e7c8e7296c9dbeda6a2a735eb6bd58ec4b"),
        ("DELETE", "https://eu.api.ovh.com/1.0/auth", "", "a1eecd00b3b02b6cf5708b84b9ff42059a950d85"),
        ("GET", "https://eu.api.ovh.com/1.0/authTO", "", "1f0958be70f095ddaba525778a9ac1dcffac89f3"),
        ("GET", "https://eu.api.ovh.com/v2/call", "", "bb63b132a6f84ad5433d0c534d48d3f7c3804285"),
    ]
    for i, (m, url, b, sig) in enumerate(vectors):
        put("emulator_signature_check", f"spec-vector-{i}.txt",
            f"{m}\n{url}\n{ak_as_ck_ts}\n$1${sig}\n{ak_as_ck_ts}\n{b}")
    put("emulator_signature_check", "client-path-post.txt",
        f"POST\n/v2/okms/resource/e90c5841-f39e-4983-8596-62ff0c538b6b/credential\n"
        f"1457018875\n$1$0000\n1457018875\n" + '{"name":"a","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"]}')
    put("emulator_signature_check", "skewed.txt",
        f"GET\n/v1/me?x=1&y=%20\n1457019999\n$1$e9556054b6309771395efa467c22e627407461ad\n1457018875\n")

def iam():
    """iam_answer_decode: byte 0 picks the decoder (okms_e2e_tests::fuzz_targets), the rest is
    the body; shapes from ../shared/spec/api-schema/iam-v2.json and me-identity-v1.json."""
    nic = "xx1111-ovh"
    domain = "urn:v1:eu:resource:okms:e90c5841-f39e-4983-8596-62ff0c538b6b"
    alice = f"urn:v1:eu:identity:user:{nic}/alice"
    policy = {
        "id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "name": "okms-alice", "description": None,
        "identities": [alice], "resources": [{"urn": domain, "type": "okms"}],
        "permissions": {"allow": [{"action": "okms:apikms:*"}], "except": [],
                        "deny": [{"action": "okms:apikms:serviceKey/delete"}]},
        "createdAt": "2026-11-30T10:00:00Z", "updatedAt": None, "readOnly": False,
        "owner": nic, "expiredAt": "2027-01-01T00:00:00Z",
    }
    def put_op(op, name, body):
        put("iam_answer_decode", name, bytes([op]) + (body if isinstance(body, bytes) else body.encode()))
    put_op(0, "policy.json", json.dumps(policy))
    put_op(1, "policy-list.json", json.dumps([policy, dict(policy, name="p2", expiredAt=None)]))
    put_op(2, "user.json", json.dumps({
        "login": "alice", "email": "alice@example.invalid", "group": "kms-operators",
        "status": "OK", "creation": "2026-01-01T00:00:00Z", "lastUpdate": "2026-01-01T00:00:00Z",
        "passwordLastUpdate": None, "description": "", "urn": alice, "type": "USER"}))
    put_op(3, "group.json", json.dumps({
        "name": "admins", "role": "ADMIN", "defaultGroup": False, "description": "",
        "creation": "2026-01-01T00:00:00Z", "lastUpdate": "2026-01-01T00:00:00Z",
        "urn": f"urn:v1:eu:identity:group:{nic}/admins"}))
    put_op(4, "service-account.json", json.dumps({
        "clientId": "EU.ci-runner", "name": "ci-runner", "description": "", "flow": "CLIENT_CREDENTIALS",
        "callbackUrls": [], "identity": f"urn:v1:eu:identity:credential:{nic}/oauth2-EU.ci-runner"}))
    put_op(5, "authorize.json", json.dumps({
        "authorizedActions": ["okms:apiovh:credential/get"],
        "unauthorizedActions": ["okms:apiovh:credential/create"]}))
    put_op(6, "policy-body.json", json.dumps({k: policy[k] for k in
        ("name", "description", "identities", "resources", "permissions", "expiredAt")}))
    for i, action in enumerate(["okms:apikms:random/get", "okms:kmip:*", "okms:apikms:randm/get",
                                "vps:apiovh:*", "*"]):
        put_op(7, f"action-{i}.txt", action)
    for i, name in enumerate(["alice", "a/b", "EU.ci-runner", "%2F?#"]):
        put_op(8, f"name-{i}.txt", name)

def policies():
    domain = "00000000-0000-0000-0000-000000000000"
    put("broker_policy_parse", "issue-example.yaml",
        f"version: 1\ndomains:\n  - okms_id: {domain}\n"
        "    credentials: [\"web-*\", \"db-1\"]   # names that may renew\n"
        "    validity_days: 90\n")
    put("broker_policy_parse", "defaults.yaml",
        "version: 1\ndefaults:\n  key_algorithms: [ecdsa-p256, rsa-3072]\n"
        "  renew_before_days: 30\n  grace: 24h\n  min_renew_interval: 30m\n"
        f"domains:\n  - okms_id: {domain}\n    credentials:\n      - web-*\n"
        "      - \"*-db-*\"\n    grace: 90s\n"
        "  - okms_id: 0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d\n    credentials: [a]\n"
        "    validity_days: 365\n    min_renew_interval: 7d\n")
    put("broker_policy_parse", "flow-style.yaml",
        f"{{version: 1, domains: [{{okms_id: {domain}, credentials: [x*y*z]}}]}}\n")
    put("broker_policy_parse", "duplicate-domain.yaml",
        f"version: 1\ndomains:\n  - okms_id: {domain}\n    credentials: [a]\n"
        f"  - okms_id: {domain.upper()}\n    credentials: [b]\n")
    put("broker_policy_parse", "unknown-key.yaml",
        f"version: 1\ndomains:\n  - okms_id: {domain}\n    credentials: [a]\n"
        "    grase: 1h\n")
    put("broker_policy_parse", "bad-values.yaml",
        f"version: 2\ndomains:\n  - okms_id: {domain}\n    credentials: [\"a**\", \"\"]\n"
        "    key_algorithms: [dsa]\n    grace: 0s\n")
    put("broker_policy_parse", "anchors.yaml",
        "version: 1\ndefaults: &d {grace: 1h}\ndomains:\n"
        f"  - &x {{okms_id: {domain}, credentials: [a]}}\n  - *x\n")

if __name__ == "__main__":
    if shutil.which("openssl") is None:
        sys.exit("make_seeds.py needs the openssl command")
    main()
