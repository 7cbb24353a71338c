"""offline_cache.crypto and offline_cache.keys: published vectors, envelopes, associated data,
tampering, look-up hashes, and the data key in the OS keyring (the in-memory test backend)."""

from __future__ import annotations

import base64
import logging

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher as BlockCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from counter_client.domain.errors import StoreError
from offline_cache import crypto, keys
from offline_cache.crypto import (
    AES_256_GCM,
    ALGORITHMS,
    FIELD_MAGIC,
    FIELD_OVERHEAD,
    KIND_ID_NUMBER,
    KIND_PHONE,
    SM4_GCM,
    Cipher,
    IntegrityError,
    field_context,
)
from offline_cache.keys import (
    KEYRING_SERVICE,
    KEYRING_USER_PREFIX,
    DataKeys,
    load_data_keys,
    new_installation_id,
)
from tests.keyring_memory import MemoryKeyring

MARKER = "隐私标记-MARKER-11010519491231002X"


@pytest.fixture(autouse=True)
def clean_keyring():
    MemoryKeyring.clear()
    keys.forget_cached_keys()
    yield
    MemoryKeyring.clear()
    keys.forget_cached_keys()


@pytest.fixture
def other_backend():
    """Select another keyring backend for one test, restoring the configured one after."""
    before = keyring.get_keyring()
    try:
        yield keyring.set_keyring
    finally:
        keyring.set_keyring(before)


@pytest.fixture(params=ALGORITHMS)
def cipher(request):
    return Cipher(DataKeys.generate(), request.param)


# -- the primitives against published vectors ----------------------------------------------------
def test_sm4_block_gb_t_32907_example():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = BlockCipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_rfc_8998_vector():
    key, nonce, plain, aad, expected = (bytes.fromhex(h) for h in crypto._KAT[SM4_GCM])
    assert crypto._Sm4Gcm().seal(key, nonce, plain, aad) == expected
    assert crypto._Sm4Gcm().open(key, nonce, expected, aad) == plain
    assert expected[-16:].hex() == "83de3541e4c2b58177e065a9bf7b62ec"  # RFC 8998 A.1 tag


def test_aes_256_gcm_vector():
    key, nonce, plain, aad, expected = (bytes.fromhex(h) for h in crypto._KAT[AES_256_GCM])
    assert crypto._Aes256Gcm().seal(key, nonce, plain, aad) == expected


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError):
        Cipher(DataKeys.generate(), "des")


# -- field envelopes ----------------------------------------------------------------------------
def test_field_round_trip_and_envelope_layout(cipher):
    ctx = field_context("applicant", "id_number", 42)
    blob = cipher.encrypt_field(MARKER, ctx)
    assert cipher.decrypt_field(blob, ctx) == MARKER
    assert blob[0] == FIELD_MAGIC
    assert blob[1] == {SM4_GCM: 1, AES_256_GCM: 2}[cipher.algorithm]
    assert len(blob) == FIELD_OVERHEAD + len(MARKER.encode())
    assert MARKER.encode() not in blob
    assert cipher.encrypt_field(MARKER, ctx) != blob  # a fresh nonce every time


def test_decryption_follows_the_envelope_not_the_configured_algorithm():
    data_keys = DataKeys.generate()
    sm4, aes = Cipher(data_keys, SM4_GCM), Cipher(data_keys, AES_256_GCM)
    assert aes.decrypt_field(sm4.encrypt_field("甲", "c"), "c") == "甲"
    assert sm4.decrypt_field(aes.encrypt_field("乙", "c"), "c") == "乙"


def test_ciphertext_copied_to_another_row_does_not_decrypt(cipher, caplog):
    blob = cipher.encrypt_field(MARKER, field_context("applicant", "phone", 1))
    for ctx in (field_context("applicant", "phone", 2), field_context("applicant", "id_number", 1),
                field_context("agent", "phone", 1)):
        with pytest.raises(StoreError) as info:
            cipher.decrypt_field(blob, ctx)
        assert info.value.message.startswith("数据校验失败")
        assert MARKER not in info.value.log


def test_every_tampered_byte_is_detected(cipher):
    ctx = b"applicant/name/7"
    blob = cipher.encrypt_field(MARKER, ctx)
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        with pytest.raises(StoreError) as info:
            cipher.decrypt_field(bytes(bad), ctx)
        assert MARKER not in info.value.log and MARKER not in info.value.message
    with pytest.raises(IntegrityError):
        cipher.decrypt_field(blob[:-1], ctx)
    with pytest.raises(IntegrityError):
        cipher.decrypt_field(blob[:FIELD_OVERHEAD - 1], ctx)


def test_integrity_message_is_chinese_and_log_english(cipher):
    with pytest.raises(IntegrityError) as info:
        cipher.decrypt(cipher.encrypt(b"x", "a"), "b")
    assert "数据校验失败" in info.value.message
    assert "failed authentication" in info.value.log


def test_keys_rotate_old_envelopes_stay_readable():
    old, new = DataKeys.generate(), DataKeys.generate()
    blob = Cipher(old).encrypt_field("旧数据", "c")
    assert Cipher(new, old_keys=[old]).decrypt_field(blob, "c") == "旧数据"
    with pytest.raises(IntegrityError) as info:
        Cipher(new).decrypt_field(blob, "c")
    assert "其他密钥" in info.value.message
    assert f"{old.key_id:08x}" in info.value.log


def test_unknown_format_byte_is_a_store_error(cipher):
    blob = bytearray(cipher.encrypt_field("x", "c"))
    blob[0] = 0x99
    with pytest.raises(StoreError) as info:
        cipher.decrypt_field(bytes(blob), "c")
    assert "格式无法识别" in info.value.message


@settings(max_examples=150, deadline=None)
@given(text=st.text(), context=st.binary(max_size=64), algorithm=st.sampled_from(ALGORITHMS))
def test_field_round_trip_property(text, context, algorithm):
    cipher = Cipher(_PROPERTY_KEYS, algorithm)
    assert cipher.decrypt_field(cipher.encrypt_field(text, context), context) == text


_PROPERTY_KEYS = DataKeys.generate()


# -- look-up hashes -----------------------------------------------------------------------------
def test_lookup_hash_normalises_id_numbers():
    c = Cipher(DataKeys.generate())
    same = ["11010519491231002X", " 11010519491231002x ", "１１０１０５１９４９１２３１００２ｘ", "110105 19491231 002X"]
    assert len({c.lookup_hash(KIND_ID_NUMBER, v) for v in same}) == 1
    assert c.lookup_hash(KIND_ID_NUMBER, "110105194912310021") != c.lookup_hash(KIND_ID_NUMBER, same[0])


def test_lookup_hash_normalises_phone_numbers():
    c = Cipher(DataKeys.generate())
    mobile = ["13800138000", "138-0013-8000", "+86 138 0013 8000", "0086 13800138000", "8613800138000",
              "１３８００１３８０００", "＋８６ １３８ ００１３ ８０００"]
    assert len({c.lookup_hash(KIND_PHONE, v) for v in mobile}) == 1
    landline = ["010-88888888", "(010) 8888 8888", "+86 10 8888 8888", "0086-10-88888888"]
    assert len({c.lookup_hash(KIND_PHONE, v) for v in landline}) == 1
    assert c.lookup_hash(KIND_PHONE, "13800138001") != c.lookup_hash(KIND_PHONE, mobile[0])


def test_lookup_hash_is_keyed_and_separates_kinds():
    a, b = Cipher(DataKeys.generate()), Cipher(DataKeys.generate())
    value = "13800138000"
    h = a.lookup_hash(KIND_PHONE, value)
    assert len(h) == 64 and value not in h
    assert h != b.lookup_hash(KIND_PHONE, value)
    assert h != a.lookup_hash(KIND_ID_NUMBER, value)
    assert a.lookup_hash(KIND_PHONE, value) == Cipher(DataKeys(a._keys._master), AES_256_GCM).lookup_hash(KIND_PHONE, value)
    with pytest.raises(ValueError):
        a.lookup_hash("address", "四川省")  # only ID numbers, phones and names are indexed
    with pytest.raises(ValueError):
        a.lookup_hash(KIND_PHONE, " - ")


# -- the data key in the OS keyring ---------------------------------------------------------------
def test_data_key_created_once_then_reused(caplog):
    install = new_installation_id()
    with caplog.at_level(logging.DEBUG):
        first = load_data_keys(install)
    stored = MemoryKeyring.secrets
    assert list(stored) == [(KEYRING_SERVICE, KEYRING_USER_PREFIX + install)]
    value = stored[(KEYRING_SERVICE, KEYRING_USER_PREFIX + install)]
    assert len(base64.b64decode(value, validate=True)) == 32
    assert value not in caplog.text
    assert load_data_keys(install) is first  # cached for the process
    keys.forget_cached_keys()
    again = load_data_keys(install)
    assert again == first and again.key_id == first.key_id
    assert len(MemoryKeyring.secrets) == 1
    assert value not in repr(again)


def test_each_installation_has_its_own_key():
    a, b = load_data_keys(new_installation_id()), load_data_keys(new_installation_id())
    assert a != b and a.key_id != b.key_id


def test_data_encrypted_survives_a_restart():
    install = new_installation_id()
    blob = Cipher(load_data_keys(install)).encrypt_field(MARKER, "c")
    keys.forget_cached_keys()  # a new process: the key comes back from the keyring
    assert Cipher(load_data_keys(install)).decrypt_field(blob, "c") == MARKER


def test_invalid_installation_id_is_a_bug():
    with pytest.raises(ValueError):
        load_data_keys("../../etc")


@pytest.mark.parametrize("backend", [keyring.backends.null.Keyring, keyring.backends.fail.Keyring])
def test_no_secure_store_is_refused(backend, other_backend, tmp_path):
    other_backend(backend())
    with pytest.raises(StoreError) as info:
        load_data_keys(new_installation_id())
    message = info.value.message
    assert "安全密钥存储" in message and "无法保护个人信息" in message
    assert "Secret Service" in message and "凭据管理器" in message
    assert "no usable OS secure store" in info.value.log
    assert not list(tmp_path.iterdir())  # nothing fell back to a file


class _LockedKeyring(keyring.backend.KeyringBackend):
    priority = 5

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("collection is locked")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("collection is locked")


class _ForgetfulKeyring(keyring.backend.KeyringBackend):
    """Claims to work but keeps nothing: a key from it would be lost at the next start."""

    priority = 5

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        pass


class _LowPriorityKeyring(MemoryKeyring):
    priority = 0.5  # like keyrings.alt's plaintext file backends


def test_locked_keyring_is_a_store_error(other_backend):
    other_backend(_LockedKeyring())
    with pytest.raises(StoreError) as info:
        load_data_keys(new_installation_id())
    assert "锁定" in info.value.message and "KeyringLocked" in info.value.log


def test_backend_that_drops_secrets_is_refused(other_backend):
    other_backend(_ForgetfulKeyring())
    with pytest.raises(StoreError) as info:
        load_data_keys(new_installation_id())
    assert "安全密钥存储" in info.value.message


def test_not_recommended_backend_is_refused(other_backend):
    other_backend(_LowPriorityKeyring())
    with pytest.raises(StoreError):
        load_data_keys(new_installation_id())


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"short").decode(), ""])
def test_malformed_stored_key_is_an_error_not_replaced(bad):
    install = new_installation_id()
    slot = (KEYRING_SERVICE, KEYRING_USER_PREFIX + install)
    MemoryKeyring.secrets[slot] = bad
    with pytest.raises(StoreError) as info:
        load_data_keys(install)
    assert "数据密钥已损坏" in info.value.message
    assert bad == "" or bad not in info.value.log
    assert MemoryKeyring.secrets[slot] == bad  # left for support to look at, not overwritten
