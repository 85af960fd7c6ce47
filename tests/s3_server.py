"""A real S3 server for the storage tests: moto's server mode on 127.0.0.1, as Ray's own storage
tests use (the storage-test extra installs it). ``s3_server``: its endpoint, for a test module;
``s3``: a fresh bucket with credentials in the environment, for one test. A test module imports
``s3_fixture`` and ``s3_server_fixture`` to use them. Without moto the tests skip, saying so; with
PALRNN_REQUIRE_STORAGE=1 (.ci/run sets it) they fail instead."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import pytest

# .ci/run sets it: the storage tests fail, rather than skip, where moto or a namespaced node is missing.
REQUIRE = "PALRNN_REQUIRE_STORAGE"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true"}


@dataclass
class S3:
    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    client: object  # boto3's S3 client

    def uri(self, prefix: str = "") -> str:
        """The bucket's URI with the endpoint in its query (no environment variable needed)."""
        path = f"/{prefix}" if prefix else ""
        return f"s3://{self.bucket}{path}?endpoint_override={self.endpoint}"

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        # pyarrow leaves empty "folder/" markers behind a move or a delete: not objects of ours
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []) if not o["Key"].endswith("/"))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture(scope="module", name="s3_server")
def s3_server_fixture():
    why = 'moto is not installed: pip install -e ".[storage-test]" (moto[server]>=5)'
    if os.environ.get(REQUIRE) == "1":  # .ci/run: fail, never skip
        try:
            import moto.server as server_module
        except ImportError:
            pytest.fail(f"{REQUIRE}=1 but {why}")
    else:
        server_module = pytest.importorskip("moto.server", reason=why)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(name="s3")
def s3_fixture(s3_server, monkeypatch):
    import boto3

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"palrnn-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=bucket)
    return S3(s3_server, bucket, client)
