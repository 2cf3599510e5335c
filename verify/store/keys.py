"""The Redis key schema: every key telverify writes is named here and nowhere else.

Keys of one destination number in one service share a hash tag, `{VA...:h}`, where `h` is a
short keyed digest of the number (sids.NumberTags). The same `h` leads the hex part of each
verification sid, so a request that names only the sid finds the slot without a lookup, and
every Lua script touches one slot: the schema runs unchanged on Redis Cluster. A service's own data (its rate limits,
its block list's index) shares the service's tag, `{VA...}`. A service's hash, an account's
services index and SafeList have no tag: on a cluster each is one key, held by one node. The
audit log and its indexes share the `{audit}` tag, so one script writes an entry to all of them
and trims them.

A verification lives in two places. Its record, all it answers (also once it has ended), is an
entry of its number's key (`number()`), one key per number for everything the number keeps for a
day: a key costs Redis about 200 B before it holds anything, a record about 100. What only a
pending verification needs is its working hash (`verification()`), which ends with it: deleted in
the script that makes it final, and expiring a minute after its code does, since it is of no use
after that. So an ended verification keeps no code, salt or digest, and costs under half of a
pending one (docs/performance.md, "Memory").

A number's key is text, entries "\n<name>=<value>" (names and values never hold "\n" or "="):

    +E164=<log>         the number's sends of the last day, "time:kinds;..." (its own limits:
                        store/lua/create_or_resend.lua)
    <name>=<record>     a verification of the number, named by the 24 digits of its sid after the
                        tag (sids.record_name): "VE" and the tag are the same for all of them

Numbers whose tags match share a key, each with its own entries. A record is fields joined by
"|", short since each is stored once per verification (times are whole seconds, as answered):

    to|ch|st|ca|ua|ex|lc|ck|fr|<attempt>|<attempt>...
    to  the number, E.164, after a "*" in the number's newest verification, where resends and
        checks by `To` go (none once its only send was refused)
    ch  the latest attempt's channel
    st  status: pending, approved, canceled, expired, max_attempts_reached, failed (a fraud report)
    ca  created (epoch s)                  ua  updated (s after ca)
    ex  when the code expires (s after ca): the second its date_expires names
    lc  language of texts and calls (a call to an ended verification apologises in it)
    ck  checks made                        fr  '1' once the person reported fraud on an approve call
    attempt  "n,channel,time (s after ca),delivery status,error code,CallSid,answered-by,outcome"
             (channel: empty when it is ch; outcome: how a call ended: approved, code_read, no_key,
             machine, busy...), empty fields at the end left out; a send the carrier refused is
             taken out

A verification's working hash, with short field names:

    sc  the code sealed with AES-GCM      sl  salt of `hs`
    hs  sha1(salt .. HMAC(code)): what a check compares
    cd  '1' when a code was delivered (an approve call's code is never spoken, so never checked)
    sn  send attempts made                 sr  send attempts released (the carrier refused them)
    fn  CustomFriendlyName                 tg  Tags (JSON)
    sd  digits dialled after the call connects (an extension)
    yc  "<identity>/<YC sid>": the phone challenge this verification settles (verify/methods/
        phone_challenges.py); decide_by_call.lua answers it so that a call's decision reaches the
        challenge at once. A verification is re-sent only for its own challenge (or, without
        yc, for the application): create_or_resend.lua cancels it for any other start.

Versions of telverify without number keys stored a verification whole in that hash (the fields
above, and sid, to, ch, st, ca, ua, ex as epoch seconds, ck, lc, fr, and per attempt a<n>
"channel|time|delivery status|error code", c<n> its CallSid, m<n> its answering-machine verdict,
o<n> its call outcome), and a number's state in `latest()`: the scripts carry either over the
first time they read it (store/lua/record.lua), and a fetch reads such a hash as it is.

A number's lockout (`lockout()`) is a hash {until, level}; its failed checks (`failed_checks()`)
a sorted set of "<record name>:<check>" scored by time.

An entity of Verify's Entities, Factors and Challenges (verify/methods/) keeps every key under its
own tag, `{VA...:e:<identity>}` (`entity_prefix()`), so each change to it, its factors and its
challenges is one script; the service's index of its entities (`entities_index()`) is in the
service's slot, written after the entity's script. The keys under an entity's prefix:

    entity      hash: sid (YE), ca (created, epoch s), ua (updated), df (the default factor's sid:
                telverify's, empty until a factor is verified), sq (the last sequence number given
                to one of its factors: their creation order)
    factors     sorted set of its factor sids, scored by sequence number (creation order)
    f:<YF sid>  hash: a factor: ty (type: totp, phone), fn (friendly name), st (unverified,
                verified), ca, ua, at (wrong codes while unverified), and per type:
                totp: sv, sd (the seed's raw bytes sealed: verify/sealing.py, bound to the factor's
                      sid; sv the sealing key's id, sd the rest, short enough for the hash to stay
                      in Redis's compact encoding: methods/totp.py), ts (time
                      step), cl (code length), sk (skew), al (sha1, sha256, sha512), lc (the
                      highest time-step counter ever accepted: a code is accepted once; -1: none)
                phone: pn (the number, E.164: never answered after the factor's creation), px (an
                      office phone's extension, digits, or empty), kd (kind: mobile, alternate,
                      office; one factor of each kind per entity, which factor_create.lua
                      checks, but for a new number's factor while it is proven: rp, the sid of the
                      factor it replaces then), pc (preferred channel: sms, call, call_approve)
    challenges  sorted set of its challenge sids, scored by creation time (trimmed: see below)
    c:<YC sid>  hash: a challenge: ty (its factor's type; absent: totp), fa (factor sid), st
                (pending, approved, denied, expired), ca, ua, ra (responded, empty until then), ex
                (expires, epoch s), at (codes tried), dt (details, JSON: {message, fields}), hd
                (hidden details, JSON), and a phone challenge's: ch (its verification's channel),
                vs (its verification's sid), vr (that verification's status once it settled the
                challenge: approved, failed, expired, canceled, max_attempts_reached)

Entra External MFA (verify/eam/) keeps its few keys under one tag, `{eam}`, so a sign-in and the
hint it spent are written by one script (sign-ins are a person's second step: few, and short-lived):

    signing-keys  hash: per signing key, by its kid (base64): <kid>:k (its RSA private key as PEM,
                  sealed: verify/sealing.py, purpose "eam signing key", bound to the kid), <kid>:c
                  (its self-signed certificate, DER, base64), <kid>:sf (when it starts signing,
                  epoch s), <kid>:dr (when it is dropped from the JWKS, epoch s; empty: never),
                  <kid>:ca (when it was made, epoch s; absent on keys made before it was kept)
    signin:<id>   hash: a sign-in (verify/eam/signins.py): st (open, answered), ex (when Entra has
                  given up on it, epoch s), an (the answer: approved, or an OIDC error code), tid,
                  oid, sub, no (nonce), os (OIDC state), ru (redirect_uri), ci (client_id), acr,
                  amr (the amr values Entra accepts, comma-separated; empty: any), sv (the
                  service), fa (the factor being used), ch (its channel: sms, call, call_approve,
                  totp), cs (the phone challenge started, YC), vs (its verification, VE), wc (wrong
                  codes), ca (created)
    hint:<sha256> present while an id_token_hint, by the SHA-256 of its text, has been spent: a
                  hint opens one sign-in

A challenge is kept CHALLENGE_RETENTION_SECONDS (store/methods.py) after it expires or is
approved, and an entity keeps at most its newest CHALLENGES_KEPT: the challenge scripts trim the
rest, and a TTL drops the hash of one nobody touches again. Entities and factors last until deleted.
"""
from __future__ import annotations

import hashlib

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
# (the number's, sids.NumberTags), identity (an entity's, verify/methods/)}, without the fields an
# action has no value for (an entry written before `identity` existed reads as having none).
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


def verification_keys(service_sid: str, verification_sid: str) -> tuple[str, str]:
    """(its number's key, its working hash): what every script on one verification touches."""
    prefix = slot_prefix(service_sid, tag_of_verification(verification_sid))
    return prefix + "number", prefix + "ve:" + verification_sid


def number(service_sid: str, tag: str) -> str:
    """Text: the state of the numbers with this tag (in practice one) and their verifications'
    records. Resends and checks by `To` start here."""
    return slot_prefix(service_sid, tag) + "number"


def latest(service_sid: str, tag: str, to: str) -> str:
    """A number's state in the older format, a hash {sid, log}: carried
    over into the number's key the first time a script reads it, and written no more."""
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


# -- Verify's Entities, Factors and Challenges (verify/methods/) ----------------------------------

def entities_index(service_sid: str) -> str:
    """Sorted set of a service's entities' identities, scored by creation time."""
    return service_tag(service_sid) + "entities"


def entity_prefix(service_sid: str, identity: str) -> str:
    """Prefix of every key of one entity (its slot); Lua builds its factors' and challenges' keys
    from it. An identity holds only letters, digits and dashes, never a brace."""
    return f"{PREFIX}:{{{service_sid}:e:{identity}}}:"


def entity(service_sid: str, identity: str) -> str:
    return entity_prefix(service_sid, identity) + "entity"


def factors_index(service_sid: str, identity: str) -> str:
    return entity_prefix(service_sid, identity) + "factors"


def factor(service_sid: str, identity: str, factor_sid: str) -> str:
    return entity_prefix(service_sid, identity) + "f:" + factor_sid


def challenges_index(service_sid: str, identity: str) -> str:
    return entity_prefix(service_sid, identity) + "challenges"


def challenge(service_sid: str, identity: str, challenge_sid: str) -> str:
    return entity_prefix(service_sid, identity) + "c:" + challenge_sid


# -- readiness (store/readiness.py) ---------------------------------------------------------------

READINESS = f"{PREFIX}:readiness"  # string, a second's life: written by each readiness check


# -- Entra External MFA (verify/eam/) --------------------------------------------------------------

EAM_TAG = f"{PREFIX}:{{eam}}:"
EAM_SIGNING_KEYS = EAM_TAG + "signing-keys"


def eam_signin(signin_id: str) -> str:
    """Hash: a sign-in (store/eam.py), named by the SHA-256 (hex) of its id: the id is the
    bearer of the person's pages, which Redis never holds."""
    return EAM_TAG + "signin:" + hashlib.sha256(signin_id.encode()).hexdigest()


def eam_hint(digest: str) -> str:
    """Present once the hint whose SHA-256 (hex) is `digest` has opened a sign-in."""
    return EAM_TAG + "hint:" + digest


LIMITS_NAMESPACE = f"{PREFIX}-limits"  # prefix of the `limits` library's counters


# -- the people's own pages (verify/portal/) ---------------------------------------------------------

def my_session(digest: str) -> str:
    """Hash {id: the person's identity, ex: when it ends, fr: until when its last second step
    counts as fresh, nx: the page to go back to after one, tg: the factor that page changes}: a
    signed-in session of /my/, named by the SHA-256 (hex) of its cookie, which Redis never holds."""
    return f"{PREFIX}:my:session:{digest}"


def my_signin_flow(digest: str) -> str:
    """Hash {n: nonce, v: PKCE verifier, b: SHA-256 of the browser's cookie}: a sign-in through the
    organisation's provider, from its start until the provider sends the person back, named by
    the SHA-256 (hex) of its `state`; taken (read and deleted) once."""
    return f"{PREFIX}:my:flow:{digest}"
