"""Long-lived secrets sealed under SECRET_KEY, and opened across a rotation (verify/sealing.py)."""
import pytest

from config import ConfigError, load_settings
from tests.support import make_env
from verify.sealing import Keyring, SealError

OLD, NEW, OTHER = "o" * 40, "n" * 40, "x" * 40
PURPOSE = b"test seed"


def test_sealed_value_opens_under_its_key_and_holds_no_clear_text():
    ring = Keyring(NEW, None, PURPOSE)
    sealed = ring.seal(b"JBSWY3DPEHPK3PXP", "YF1")
    assert "JBSWY3DPEHPK3PXP" not in sealed and sealed.startswith(ring.current_id + ".")
    assert ring.seal(b"JBSWY3DPEHPK3PXP", "YF1") != sealed  # a fresh nonce each time
    opened = ring.open(sealed, "YF1")
    assert opened.plaintext == b"JBSWY3DPEHPK3PXP" and not opened.stale


def test_a_value_moved_to_another_context_does_not_open():
    ring = Keyring(NEW, None, PURPOSE)
    with pytest.raises(SealError):
        ring.open(ring.seal(b"seed", "YF1"), "YF2")


def test_rotation_opens_the_previous_keys_values_as_stale():
    sealed = Keyring(OLD, None, PURPOSE).seal(b"seed", "YF1")
    rotated = Keyring(NEW, OLD, PURPOSE)
    opened = rotated.open(sealed, "YF1")
    assert opened.plaintext == b"seed" and opened.stale
    resealed = rotated.seal(opened.plaintext, "YF1")
    assert not Keyring(NEW, None, PURPOSE).open(resealed, "YF1").stale  # once the previous key is dropped


@pytest.mark.parametrize("ring", [Keyring(OTHER, None, PURPOSE), Keyring(NEW, OTHER, PURPOSE),
                                  Keyring(OLD, None, b"other purpose")])
def test_a_key_that_did_not_seal_it_refuses(ring):
    sealed = Keyring(OLD, None, PURPOSE).seal(b"seed", "YF1")
    with pytest.raises(SealError):
        ring.open(sealed, "YF1")


@pytest.mark.parametrize("tampered", ["", "nodot", "abcd1234.", "abcd1234.!!!", "{id}.AAAA"])
def test_malformed_values_raise_seal_error(tampered):
    ring = Keyring(NEW, None, PURPOSE)
    with pytest.raises(SealError):
        ring.open(tampered.format(id=ring.current_id), "YF1")


def test_previous_key_setting_is_checked():
    env = make_env("redis://127.0.0.1:6379/0", "http://127.0.0.1:9", "https://verify.example.com")
    assert load_settings({**env, "SECRET_KEY_PREVIOUS": OLD}).secret_key_previous == OLD
    assert load_settings(env).secret_key_previous is None
    with pytest.raises(ConfigError, match="SECRET_KEY_PREVIOUS must be at least 32"):
        load_settings({**env, "SECRET_KEY_PREVIOUS": "short"})
    with pytest.raises(ConfigError, match="SECRET_KEY_PREVIOUS is SECRET_KEY"):
        load_settings({**env, "SECRET_KEY_PREVIOUS": env["SECRET_KEY"]})
