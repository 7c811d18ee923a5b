"""moto's DynamoDB API on loopback, one request at a time.

Real DynamoDB checks a conditional write and performs it atomically. moto's own server runs
each request in a thread and does not: two threads can both pass `attribute_not_exists` and
both write, so a test of "exactly one claim wins" would pass or fail by luck. Serving one
request at a time gives the tests the atomicity the bridge relies on. (Throughput is no
concern: a request takes moto a millisecond or two.)

    python scripts/moto_server.py -H 127.0.0.1 -p 5000

It also serves CloudWatch's PutMetricData and GetMetricData as the AWS SDK for Rust sends
them: in the Smithy RPC v2 CBOR protocol (`smithy-protocol: rpc-v2-cbor`, the only one the
Rust SDK speaks for CloudWatch), which moto does not parse. `CborCloudWatch` decodes such a
request, hands it to moto's own CloudWatch backend (its storage and its statistics) and
encodes the answer. One difference from moto is fixed on the way, to match CloudWatch: moto
ignores the namespace of a query that names dimensions, so two stacks' metrics would mix; here
each query sees only its own namespace. `bridge-ops status` reads the metrics this way, and
the tests put the functions' EMF lines in this way (tests/src/emf.rs).
"""

import argparse
import gzip
import re
import struct
import threading
from datetime import datetime, timezone

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class OneAtATime:
    """A WSGI wrapper that serves one request at a time, its body produced inside the lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


# --- CBOR (RFC 8949): the subset Smithy RPC v2 uses -----------------------------------------


class _Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


_BREAK = object()


def cbor_decode(data):
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the CBOR item")
    return value


def _length(data, pos, info):
    if info < 24:
        return info, pos
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None:
        raise ValueError(f"bad CBOR length {info}")
    return int.from_bytes(data[pos:pos + size], "big"), pos + size


def _decode(data, pos):
    head = data[pos]
    major, info = head >> 5, head & 0x1F
    pos += 1
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info in (22, 23):
            return None, pos
        if info == 25:
            return struct.unpack(">e", data[pos:pos + 2])[0], pos + 2
        if info == 26:
            return struct.unpack(">f", data[pos:pos + 4])[0], pos + 4
        if info == 27:
            return struct.unpack(">d", data[pos:pos + 8])[0], pos + 8
        if info == 31:
            return _BREAK, pos
        raise ValueError(f"unsupported CBOR simple value {info}")
    if info == 31 and major in (2, 3, 4, 5):
        items = []
        while True:
            item, pos = _decode(data, pos)
            if item is _BREAK:
                break
            items.append(item)
        if major == 2:
            return b"".join(items), pos
        if major == 3:
            return "".join(items), pos
        if major == 4:
            return items, pos
        return dict(zip(items[::2], items[1::2])), pos
    n, pos = _length(data, pos, info)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major == 2:
        return bytes(data[pos:pos + n]), pos + n
    if major == 3:
        return data[pos:pos + n].decode("utf-8"), pos + n
    if major == 4:
        items = []
        for _ in range(n):
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        result = {}
        for _ in range(n):
            key, pos = _decode(data, pos)
            result[key], pos = _decode(data, pos)
        return result, pos
    value, pos = _decode(data, pos)
    if n == 1:  # an epoch-seconds timestamp: moto keeps naive UTC datetimes
        return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None), pos
    return _Tag(n, value), pos


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def cbor_encode(value):
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return _head(6, 1) + cbor_encode(aware.timestamp())
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(
            cbor_encode(k) + cbor_encode(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


# --- CloudWatch over Smithy RPC v2 CBOR ---------------------------------------------------

_CLOUDWATCH_PATH = re.compile(r"^/service/GraniteServiceVersion20100801/operation/(\w+)$")
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class CborCloudWatch:
    """A WSGI wrapper that serves CloudWatch's RPC v2 CBOR requests from moto's backend."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        match = _CLOUDWATCH_PATH.match(environ.get("PATH_INFO", ""))
        if not match or environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            body = gzip.decompress(body)
        region = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = region.group(1) if region else "us-east-1"
        try:
            params = cbor_decode(body) if body else {}
            answer = self.operation(match.group(1), params, region)
            status = "200 OK"
        except Exception as error:  # every failure goes back as the service's error shape
            code = getattr(error, "error_type", None) or "InvalidParameterValueException"
            answer = {"__type": f"com.amazonaws.cloudwatch#{code}", "message": str(error)}
            status = "400 Bad Request"
        payload = cbor_encode(answer)
        start_response(status, [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(payload))),
        ])
        return [payload]

    @staticmethod
    def operation(name, params, region):
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
        if name == "PutMetricData":
            backend.put_metric_data(params["Namespace"], params.get("MetricData", []))
            return {}
        if name == "GetMetricData":
            return {"MetricDataResults": _metric_data(backend, params), "Messages": []}
        raise NotImplementedError(f"CloudWatch {name} is not served over CBOR here")


def _metric_data(backend, params):
    """moto's GetMetricData, each query given only the metrics of its own namespace."""
    queries = params.get("MetricDataQueries", [])
    if any("MetricStat" not in q for q in queries):
        raise NotImplementedError("only MetricStat queries are served over CBOR here")
    if not queries:
        return []
    every_metric = backend.get_all_metrics
    by_id = {}
    try:
        for namespace in {q["MetricStat"]["Metric"]["Namespace"] for q in queries}:
            same = [q for q in queries if q["MetricStat"]["Metric"]["Namespace"] == namespace]
            backend.get_all_metrics = lambda ns=namespace: [
                m for m in every_metric() if m.namespace == ns]
            for result in backend.get_metric_data(
                    same, params["StartTime"], params["EndTime"],
                    params.get("ScanBy") or "TimestampDescending"):
                by_id[result["id"]] = result
    finally:
        del backend.get_all_metrics
    return [
        {
            "Id": r["id"],
            "Label": r["label"],
            "Timestamps": list(r["timestamps"]),
            "Values": [float(v) for v in r["values"]],
            "StatusCode": r["status_code"],
            "Messages": [],
        }
        for r in (by_id[q["Id"]] for q in queries if q["Id"] in by_id)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        OneAtATime(CborCloudWatch(app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
