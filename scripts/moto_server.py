"""A local S3 server for trying --storage and timing it: moto's server mode on 127.0.0.1 (the
storage-test extra installs moto[server]), on a free port, with one bucket made.

    python scripts/moto_server.py -- python -m study.bench --storage s3://palrnn-bench/studies
    python scripts/moto_server.py --bucket mine -- python -m study.run --grid smoke --storage s3://mine/runs
    python scripts/moto_server.py            # serve until Ctrl-C; prints the exports to paste

With a command after ``--``, it runs that command with AWS_ENDPOINT_URL and moto's test credentials
in its environment (the Ray workers a study starts inherit them), stops the server, and exits with
the command's status. Without one, it prints the ``export`` line and serves until interrupted. The
server keeps the bucket in memory: everything in it is gone when it stops.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading

# moto accepts any credentials; these are the ones its documentation uses.
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true"}


def start(bucket: str) -> tuple[object, dict[str, str]]:
    """(the running server, the environment that points a client at it), ``bucket`` created."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", **ENV}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=ENV["AWS_DEFAULT_REGION"],
                 aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
    return server, env


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(prog="python scripts/moto_server.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", default="palrnn-bench", help="the bucket it creates (default: palrnn-bench)")
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    try:
        server, env = start(args.bucket)
    except ImportError:
        parser.exit(2, f'{parser.prog}: error: moto is not installed: pip install -e ".[storage-test]"\n')
    try:
        if command:
            print(f"{parser.prog}: s3://{args.bucket} at {env['AWS_ENDPOINT_URL']}", file=sys.stderr, flush=True)
            return subprocess.run(command, env={**os.environ, **env}).returncode
        print("export " + " ".join(f"{k}={v}" for k, v in env.items()), flush=True)
        print(f"# s3://{args.bucket} at {env['AWS_ENDPOINT_URL']}; Ctrl-C stops it", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
