"""python -m entra_standin: the stand-in as a process of its own (./dev run starts it so)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from .server import EntraStandIn
from .signins import User


def main(argv: list[str] | None = None) -> int:
    default = User()
    parser = argparse.ArgumentParser(
        prog="python -m entra_standin",
        description="Local stand-in for Microsoft Entra in front of an External MFA provider.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4012, help="0 picks a free port")
    parser.add_argument("--client-id", required=True, help="the provider's app registration (EAM_CLIENT_ID)")
    parser.add_argument("--provider-discovery-url", required=True,
                        help="the provider's /.well-known/openid-configuration")
    parser.add_argument("--tenant", default=default.tid, help="the test user's tenant id")
    parser.add_argument("--oid", default=default.oid, help="the test user's object id")
    parser.add_argument("--name", default=default.name)
    parser.add_argument("--username", default=default.username)
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Signals blocked before the server thread starts (threads inherit the mask), then awaited.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    entra = EntraStandIn(args.client_id, args.provider_discovery_url, host=args.host, port=args.port,
                         user=User(args.tenant, args.oid, args.name, args.username), quiet=args.quiet).start()
    print(f"entra_standin listening on {entra.base_url}; sign-in page at {entra.base_url}/", flush=True)
    received = signal.sigwait(stop_signals)
    logging.getLogger("entra_standin").info("got %s, stopping", signal.Signals(received).name)
    entra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
