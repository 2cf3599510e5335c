"""Redis: the connection, the key schema, the Lua scripts, and the stores that use them.

`verifications.py` keeps verifications, `services.py` services and their block lists,
`admin.py` what an account configures beside them (rate limits, the SafeList), `lockouts.py`
a number's lockout as the help desk sees it, `audit.py` the audit log of admin requests.
Every check-and-change is one Lua script (`lua/`, each headed by its KEYS and ARGV) or one
transaction; `keys.py` names every key.

REDIS_URL may name a Redis Cluster (`connection.py`), or the primary Redis Sentinel names
(`sentinel.py`). A script touches one slot: its KEYS and keys it builds with their hash tag.
Each script starts with a `#!lua` line, which makes Redis 7 refuse, in a cluster, a key a
script reaches in another slot, even one on the same node (`flags=no-writes` on those that only
read: they still run when Redis is out of memory). No transaction spans slots: on a cluster,
commands on keys of different slots go in an order that is safe when it stops halfway
(`Store._in_order`).
"""
