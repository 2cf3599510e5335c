"""Local stand-in for Twilio's REST API v2010 (Messages and Calls), for tests,
benchmarks and local development.

Messages move queued -> sent -> delivered with signed status callbacks. Calls
are played like Twilio's voice platform: they ring a scripted callee (or one
driven through the control API), fetch and execute TwiML (Say, Play, Pause,
Gather, Redirect, Hangup), run answering-machine detection and post signed
status callbacks. Its web page, the dev phone (phone.py), shows every number
it texted or called as a phone: texts arrive, calls ring, and a person answers
and presses keys.

    with StandIn("AC...", "token", time_scale=0.02) as standin:
        ...point the twilio Client at standin.base_url...
        standin.wait_for_message("+15551234567")
        standin.set_callee("+15551234567", keys=["#"])
        call = standin.wait_for_call("+15551234567")
        standin.wait_for_call_end(call["sid"])["transcript"]
"""
from .app import create_standin_app
from .server import StandIn

__all__ = ["StandIn", "create_standin_app"]
