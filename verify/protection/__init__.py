"""Abuse protection: every rule that refuses a send or a check, and the windows that count.

`rules.py` holds the rules and the errors they answer with, `admission.py` applies them to a
send before anything reaches Twilio, and `windows.py` keeps the moving windows in Redis.
"""
