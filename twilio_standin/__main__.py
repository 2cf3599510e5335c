"""python -m twilio_standin: run the stand-in standalone (e.g. for the benchmark)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from .server import StandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twilio_standin",
        description="Local stand-in for Twilio's REST API v2010 (Messages and Calls).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4011, help="0 picks a free port")
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    # The token is read from the environment: a command line is visible to every user (ps).
    # --auth-token stays for the callers that pass it so (e.g. the benchmark, with a fixed token).
    parser.add_argument("--auth-token",
                        default=os.environ.get("TWILIO_STANDIN_AUTH_TOKEN") or "standin-auth-token",
                        help="default: $TWILIO_STANDIN_AUTH_TOKEN, else 'standin-auth-token'; "
                             "prefer the variable, as other users can read a command line")
    parser.add_argument("--send-delay", type=float, default=0.0,
                        help="seconds slept before answering each create (Twilio latency)")
    parser.add_argument("--callback-timeout", type=float, default=10.0)
    parser.add_argument("--webhook-timeout", type=float, default=15.0,
                        help="seconds a call waits for TwiML before an application error")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies every simulated wait of a call (ringing, speech, "
                             "Pause, Gather timeout...): 0.1 runs calls ten times faster")
    parser.add_argument("--default-callee", choices=("human", "interactive"),
                        default="interactive",
                        help="numbers without a callee script: answer as a silent human, "
                             "or ring until answered through /_standin/calls/<sid>/answer")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Block SIGINT/SIGTERM before any thread starts (threads inherit the mask)
    # and collect them with sigwait below: a Python-level handler may never
    # run while the main thread sits in an untimed Event.wait().
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    standin = StandIn(args.account_sid, args.auth_token, host=args.host, port=args.port,
                      send_delay=args.send_delay, callback_timeout=args.callback_timeout,
                      quiet=args.quiet, time_scale=args.time_scale,
                      default_callee=args.default_callee,
                      webhook_timeout=args.webhook_timeout).start()
    print(f"twilio_standin listening on {standin.base_url} "
          f"(account {args.account_sid}, send_delay {args.send_delay}s); "
          f"dev phone at {standin.base_url}/", flush=True)

    received = signal.sigwait(stop_signals)
    logging.getLogger("twilio_standin").info("got %s, stopping", signal.Signals(received).name)
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
