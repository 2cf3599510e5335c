"""Redis: the connection, the key schema, the Lua scripts, and the stores that use them.

`verifications.py` keeps services and verifications, `admin.py` what an account configures
beside them (rate limits, the SafeList). Every check-and-change is one Lua script (`lua/`,
each headed by its KEYS and ARGV) or one transaction; `keys.py` names every key.
"""
