"""The data telverify keeps: what a service and a verification are, read back from Redis."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import sids

FINAL_STATUSES = ("approved", "canceled", "max_attempts_reached", "expired", "failed", "deleted")

# The deployment's built-in limits (protection/rules.py), which a service may override with its
# own `limit_<name>` field, as it may its geo permissions (`allowed_countries`).
LIMIT_NAMES = ("sends_per_number", "calls_per_number", "verifications_per_number", "sends_per_prefix",
               "sends_per_service")
PROTECTION_FIELDS = (*(f"limit_{name}" for name in LIMIT_NAMES), "allowed_countries")

# A service's settings as stored and as answered, with Verify's defaults.
SERVICE_DEFAULTS = {
    "friendly_name": "",
    "code_length": 6,
    "lookup_enabled": False,
    "psd2_enabled": False,
    "skip_sms_to_landlines": False,
    "dtmf_input_required": False,
    "tts_name": None,
    "do_not_share_warning_enabled": False,
    "custom_code_enabled": False,
    "code_expiry_seconds": 600,
    # TOTP factors' defaults (Verify's `totp` object); no issuer: the friendly name is the issuer
    "totp_issuer": None,
    "totp_time_step": 30,
    "totp_code_length": 6,
    "totp_skew": 1,
    # telverify's abuse-protection overrides; None follows the deployment's LIMIT_* settings
    **dict.fromkeys(PROTECTION_FIELDS),
}
_BOOLEAN_FIELDS = {k for k, v in SERVICE_DEFAULTS.items() if isinstance(v, bool)}
_INT_FIELDS = {"code_length", "code_expiry_seconds", "totp_time_step", "totp_code_length", "totp_skew"}


def service_to_redis(settings: dict) -> dict[str, str]:
    out = {}
    for name, value in settings.items():
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        else:
            out[name] = "" if value is None else str(value)
    return out


def service_from_redis(raw: dict[str, str]) -> dict:
    service = dict(SERVICE_DEFAULTS)
    for name, value in raw.items():
        if name in _BOOLEAN_FIELDS:
            service[name] = value == "1"
        elif name in _INT_FIELDS:
            service[name] = int(value)
        else:
            service[name] = value or None
    return service


@dataclass(frozen=True)
class SendingState:
    """What a send to a number is decided on, read together before anything is counted."""
    service: dict | None  # None: no such service
    safe_listed: bool
    blocked_seconds: int  # a fraud report's block, still this long
    locked_seconds: int  # a lockout after wrong codes, still this long


@dataclass(frozen=True)
class Attempt:
    sid: str
    channel: str
    time: float
    delivery_status: str  # a message's or a call's status, as Twilio last reported it
    error_code: str | None
    call_sid: str | None = None
    answered_by: str | None = None  # answering-machine detection: human, machine_start, fax...
    outcome: str | None = None  # how a call ended for the verification (docs/calls.md, call_outcome)


@dataclass(frozen=True)
class CheckedVerification:
    """What the check script answers: enough for a VerificationCheck, nothing more."""
    sid: str
    service_sid: str
    to: str
    channel: str
    status: str
    created: float
    updated: float
    checks: int

    @classmethod
    def from_reply(cls, service_sid: str, reply: list) -> "CheckedVerification":
        sid, to, channel, status, created, updated, checks = reply
        return cls(sid, service_sid, to, channel, status, float(created), float(updated), int(checks))


@dataclass(frozen=True)
class Verification(CheckedVerification):
    """A verification as stored, read in full (fetch, start)."""
    expires_at: float = 0.0
    locale: str = "en"
    custom_friendly_name: str | None = None
    send_digits: str | None = None
    sealed_code: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    fraud_reported: bool = False

    def attempt(self, index: int) -> Attempt | None:
        sid = sids.attempt_sid(self.sid, index)
        return next((a for a in self.attempts if a.sid == sid), None)

    @property
    def call_outcome(self) -> str | None:
        """The outcome of the latest call, which is what an application polling for it wants."""
        calls = [a for a in self.attempts if a.channel != "sms"]
        return calls[-1].outcome if calls else None


@dataclass(frozen=True)
class CallTurn:
    """What a call's TwiML webhooks read of their verification (call_event.lua's 'turn'
    reply): enough to choose and speak the call's next moment, nothing more. Handing a whole
    verification from Redis to Lua and back is most of what those scripts cost, and every
    moment of every call runs one."""
    sid: str
    service_sid: str
    to: str
    status: str
    locale: str
    custom_friendly_name: str | None
    sealed_code: str
    channel: str  # this call's attempt's
    answered_by: str | None  # answering-machine detection's verdict on this call, once known

    @classmethod
    def from_reply(cls, service_sid: str, sid: str, reply: list, now: float) -> "CallTurn":
        channel, status, expires_at, to, locale, name, sealed_code, answered_by = reply[:8]
        return cls(sid, service_sid, to, status_at(status, float(expires_at), now), locale or "en", name or None,
                   sealed_code, channel, answered_by)


def status_at(status: str, expires_at: float, now: float) -> str:
    # Expiry is a matter of time, not of a write: read-only fetches see it too.
    return "expired" if status == "pending" and now >= expires_at else status


def record_in(text: str, sid: str) -> str | None:
    """A verification's record in its number's key (store/keys.py), or None."""
    name = sids.record_name(sid)
    at = text.find(f"\n{name}=")
    if at < 0:
        return None
    start = at + len(name) + 2
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def verification_from_record(service_sid: str, sid: str, record: str, now: float, sealed_code: str | None = None,
                             friendly_name: str | None = None, send_digits: str | None = None) -> Verification:
    """A verification from its record (store/keys.py's legend) and, while it is pending, the
    working fields a start reads."""
    to, channel, status, created, updated, expires_in, locale, checks, fraud, *entries = record.split("|")
    to, created = to.lstrip("*"), float(created)  # "*": the number's newest verification
    expires_at, updated = created + int(expires_in), created + int(updated)
    if status_at(status, expires_at, now) != status:
        status, updated = "expired", expires_at
    attempts = []
    for entry in entries:
        fields = (entry.split(",") + [""] * 4)[:8]
        index, attempt_channel, time, delivery, error, call_sid, answered_by, outcome = fields
        attempts.append(Attempt(sids.attempt_sid(sid, int(index)), attempt_channel or channel, created + int(time),
                                delivery, error or None, call_sid=call_sid or None, answered_by=answered_by or None,
                                outcome=outcome or None))
    return Verification(sid=sid, service_sid=service_sid, to=to, channel=channel, status=status, created=created,
                        updated=updated, expires_at=expires_at, checks=int(checks), locale=locale or "en",
                        custom_friendly_name=friendly_name or None, send_digits=send_digits or None,
                        sealed_code=sealed_code or "", attempts=attempts, fraud_reported=fraud == "1")


def verification_from_redis(service_sid: str, raw: dict[str, str], now: float) -> Verification:
    """A verification stored whole in its hash, the older format (store/keys.py)."""
    expires_at = float(raw["ex"])
    status, updated = raw["st"], float(raw["ua"])
    if status_at(status, expires_at, now) != status:
        status, updated = "expired", expires_at
    attempts = []
    for index in range(1, int(raw.get("sn", 0)) + 1):
        entry = raw.get(f"a{index}")
        if entry is None:  # released after the carrier refused it
            continue
        channel, time, delivery, error = entry.split("|")
        attempts.append(Attempt(sids.attempt_sid(raw["sid"], index), channel, float(time), delivery, error or None,
                                call_sid=raw.get(f"c{index}"), answered_by=raw.get(f"m{index}"),
                                outcome=raw.get(f"o{index}")))
    return Verification(
        sid=raw["sid"],
        service_sid=service_sid,
        to=raw["to"],
        channel=raw["ch"],
        status=status,
        created=float(raw["ca"]),
        updated=updated,
        expires_at=expires_at,
        checks=int(raw.get("ck", 0)),
        locale=raw.get("lc", "en"),
        custom_friendly_name=raw.get("fn") or None,
        send_digits=raw.get("sd") or None,
        sealed_code=raw["sc"],
        attempts=attempts,
        fraud_reported=raw.get("fr") == "1",
    )
