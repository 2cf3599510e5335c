"""The Redis key schema: every key telverify writes is named here and nowhere else.

Keys of one destination number in one service share a hash tag, `{VA...:h}`, where `h` is a
short keyed digest of the number (sids.NumberTags). The same `h` leads the hex part of each
verification sid, so a request that names only the sid finds the slot without a lookup, and
every Lua script touches one slot: the schema runs unchanged on Redis Cluster. A service's own data (its rate limits,
its block list's index) shares the service's tag, `{VA...}`. A service's hash, an account's
services index and SafeList have no tag: on a cluster each is one key, held by one node. The
audit log and its indexes share the `{audit}` tag, so one script writes an entry to all of them
and trims them.

A verification is a hash (`verification()`) with short field names, since each is stored once
per verification:

    sid  the verification's sid            to   the number, E.164
    ch   the latest attempt's channel      st   status: pending, approved, canceled, expired,
    ca   created (epoch s)                      max_attempts_reached, failed (a fraud report)
    ua   updated (epoch s)                 ex   when the code expires (epoch s)
    sc   the code sealed with AES-GCM      sl   salt of `hs`
    hs   sha1(salt .. HMAC(code)): what a check compares
    cd   '1' when a code was delivered (an approve call's code is never spoken, so never checked)
    ck   checks made                       lc   language of texts and calls
    fn   CustomFriendlyName                tg   Tags (JSON)
    sd   digits dialled after the call connects (an extension)
    fr   '1' once the person reported fraud on an approve call
    sn   send attempts made                sr   send attempts released (the carrier refused them)
    a<n> attempt n: "channel|time|delivery status|error code"
    c<n> attempt n's CallSid               m<n> attempt n's answering-machine verdict
    o<n> attempt n's call outcome (approved, code_read, no_key, machine, busy...)

A number's state (`latest()`) is a hash {sid: its newest verification, log: its sends of the
last day, "time:kinds;..."}; its lockout (`lockout()`) a hash {until, level}.
"""
from __future__ import annotations

from .. import sids

PREFIX = "tv"
tag_of_verification = sids.tag_of_verification  # a number's tag (sids.NumberTags), from a sid


def service(service_sid: str) -> str:
    """A hash of the service's settings; `account_sid` names the account that owns it."""
    return f"{PREFIX}:service:{service_sid}"


def account_services(account_sid: str) -> str:
    """Sorted set of an account's service sids, scored by creation time."""
    return f"{PREFIX}:account:{account_sid}:services"


def safe_list(account_sid: str) -> str:
    """Hash E.164 -> "sid|created": the account's SafeList."""
    return f"{PREFIX}:account:{account_sid}:safelist"


# Stored by telverify before it had accounts, without one: the services index and the SafeList.
# The account of API_CREDENTIALS' first entry adopts them at start (verify/store/upgrade.py).
UNOWNED_SERVICES = f"{PREFIX}:services"
UNOWNED_SAFE_LIST = f"{PREFIX}:safelist"

# Sorted set of the admin actions (verify/audit.py), scored by time; each member is an entry as
# compact JSON: {sid, time, admin, action, status (HTTP), account, service, number (masked), tag
# (the number's, sids.NumberTags)}, without the fields an action has no value for.
AUDIT_LOG = f"{PREFIX}:{{audit}}"
AUDIT_INDEX_PREFIX = f"{AUDIT_LOG}:"  # audit_write.lua builds the indexes' keys from it


def audit_index(kind: str, value: str) -> str:
    """The entries of one account, service or number (`kind`: account, service or tag), stored
    as in AUDIT_LOG: a filtered read pages through it instead of the whole log."""
    return f"{AUDIT_INDEX_PREFIX}{kind}:{value}"


def slot_prefix(service_sid: str, tag: str) -> str:
    """Prefix of every key for one number of one service; Lua builds sibling keys from it."""
    return f"{PREFIX}:{{{service_sid}:{tag}}}:"


def verification(service_sid: str, verification_sid: str) -> str:
    return slot_prefix(service_sid, tag_of_verification(verification_sid)) + "ve:" + verification_sid


def latest(service_sid: str, tag: str, to: str) -> str:
    """The number's state, a hash: `sid` of its newest verification (resends and checks by
    `To` start here) and `log`, its sends of the last day (its own limits)."""
    return slot_prefix(service_sid, tag) + "latest:" + to


def blocked(service_sid: str, tag: str, to: str) -> str:
    """Present while `to` may not be called or texted for this service (a fraud report)."""
    return slot_prefix(service_sid, tag) + "blocked:" + to


# -- a service's own data: the `{VA...}` tag, so one script can change a rate limit and its
# unique-name index together.

def service_tag(service_sid: str) -> str:
    return f"{PREFIX}:{{{service_sid}}}:"


def rate_limits_index(service_sid: str) -> str:
    """Sorted set of a service's RateLimit sids, scored by creation time."""
    return service_tag(service_sid) + "ratelimits"


def rate_limit_names(service_sid: str) -> str:
    """Hash UniqueName -> RateLimit sid: the names are unique within a service."""
    return service_tag(service_sid) + "ratelimit-names"


def rate_limit(service_sid: str, rate_limit_sid: str) -> str:
    return service_tag(service_sid) + "ratelimit:" + rate_limit_sid


def buckets_index(service_sid: str, rate_limit_sid: str) -> str:
    return service_tag(service_sid) + "buckets:" + rate_limit_sid


def bucket(service_sid: str, bucket_sid: str) -> str:
    return service_tag(service_sid) + "bucket:" + bucket_sid


def blocked_index(service_sid: str) -> str:
    """Sorted set of the service's blocked numbers, scored by when the block lifts."""
    return service_tag(service_sid) + "blocked"



def failed_checks(service_sid: str, tag: str) -> str:
    """Sorted set of one number's recent failed checks, across its verifications."""
    return slot_prefix(service_sid, tag) + "failed-checks"


def lockout(service_sid: str, tag: str) -> str:
    """Hash {until, level}: the number's checks are refused until `until`."""
    return slot_prefix(service_sid, tag) + "lockout"


LIMITS_NAMESPACE = f"{PREFIX}-limits"  # prefix of the `limits` library's counters
