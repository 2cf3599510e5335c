"""Local stand-in for Twilio's REST API v2010 (Messages), for tests and benchmarks.

    with StandIn("AC...", "token") as standin:
        ...point the twilio Client at standin.base_url...
        standin.wait_for_message("+15551234567")
"""
from .app import create_standin_app
from .server import StandIn

__all__ = ["StandIn", "create_standin_app"]
