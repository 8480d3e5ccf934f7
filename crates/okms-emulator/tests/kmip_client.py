"""An independent KMIP client (PyKMIP) against the emulator's KMIP endpoint.

Usage: kmip_client.py HOST PORT CERT KEY CA. Prints one JSON object of what the server
answered; any failure is an exception (non-zero exit).
"""
import json
import logging
import sys

from kmip import enums
from kmip.pie.client import ProxyKmipClient

logging.disable(logging.CRITICAL)
host, port, cert, key, ca = sys.argv[1:6]
client = ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                         config_file="/dev/null", kmip_version=enums.KMIPVersion.KMIP_1_2)
out = {}
with client:
    versions = client.proxy.discover_versions()
    assert versions.result_status.value == enums.ResultStatus.SUCCESS, versions.result_message
    out["versions"] = ["%d.%d" % (v.major, v.minor) for v in versions.protocol_versions]
    query = client.proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                                                enums.QueryFunction.QUERY_OBJECTS])
    assert query.result_status.value == enums.ResultStatus.SUCCESS, query.result_message
    out["operations"] = sorted(op.name for op in query.operations)
    out["object_types"] = sorted(t.name for t in query.object_types)
    uid = client.create(enums.CryptographicAlgorithm.AES, 256,
                        cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                                  enums.CryptographicUsageMask.DECRYPT])
    key_object = client.get(uid)
    out["get"] = {"algorithm": key_object.cryptographic_algorithm.name,
                  "length": key_object.cryptographic_length,
                  "material_len": len(key_object.value)}
    out["located"] = uid in client.locate()
    out["located_aes"] = uid in client.locate(attributes=[
        client.attribute_factory.create_attribute(
            enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES)])
    client.destroy(uid)
    out["located_after_destroy"] = uid in client.locate()
    try:
        client.get(uid)
        out["get_after_destroy"] = "found"
    except Exception as e:  # PyKMIP raises KmipOperationFailure naming the reason
        out["get_after_destroy"] = str(getattr(e, "reason", e))
print(json.dumps(out))
