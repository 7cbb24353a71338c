"""Authenticated encryption at rest: SM4-GCM (国密, the default) or AES-256-GCM.

Everything the client keeps about a person (ID numbers, phones, scans) is stored through a
``Cipher``. Ciphertexts are self-describing (format, algorithm, key id, nonce), so the algorithm
can be changed and keys rotated without rewriting old rows. Associated data binds a ciphertext to
its place (table, column and row; a blob's hash): copied elsewhere it no longer decrypts.

Two formats (integers big-endian):

Field envelope, for short values::

    0xC1 | alg (1) | key id (4) | nonce (12) | ciphertext | tag (16)
    AAD = first 6 bytes || context

Chunked stream, for scans of any size with bounded memory (the STREAM construction: truncation,
reordering and chunk swapping are detected)::

    header: 0xC2 | alg (1) | key id (4) | base nonce (12) | chunk size (4) | plaintext size (8)
    then n = max(1, ceil(size / chunk size)) chunks, each ciphertext || tag (16), the last short
    nonce_i = base nonce XOR i;  AAD_i = header (30) || i (8) || final flag (1) || context

Look-ups by ID number or phone use ``lookup_hash``: HMAC-SHA256 under a separate sub-key over a
normalised value, so an exact match needs no plaintext in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import struct
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher as _BlockCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from counter_client.domain.errors import StoreError
from offline_cache.keys import DataKeys

log = logging.getLogger(__name__)

SM4_GCM = "sm4-gcm"
AES_256_GCM = "aes-256-gcm"
DEFAULT_ALGORITHM = SM4_GCM

FIELD_MAGIC = 0xC1
STREAM_MAGIC = 0xC2
NONCE_BYTES = 12
TAG_BYTES = 16
FIELD_HEADER = struct.Struct(">BBI")            # magic, algorithm id, key id
STREAM_HEADER = struct.Struct(">BBI12sIQ")      # magic, algorithm id, key id, base nonce, chunk size, size
FIELD_OVERHEAD = FIELD_HEADER.size + NONCE_BYTES + TAG_BYTES
CHUNK_AAD = struct.Struct(">QB")                # chunk index, final flag

DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024

KIND_ID_NUMBER = "id_number"
KIND_PHONE = "phone"
KIND_NAME = "name"
PHONE_COUNTRY_PREFIXES = ("+86", "0086")

INTEGRITY_MESSAGE = "数据校验失败：本地加密数据已损坏或被篡改，无法读取。请联系技术支持。"
FOREIGN_KEY_MESSAGE = ("数据校验失败：该数据由其他密钥加密（可能来自另一台电脑，或本机密钥已更换），"
                       "本机无法解密。请联系技术支持。")
UNKNOWN_FORMAT_MESSAGE = "本地加密数据的格式无法识别（可能由更新版本的本程序写入）。请安装最新版本后重试。"
UNSUPPORTED_MESSAGE = ("本程序的加密组件不支持所选的加密算法（{name}），无法保护个人信息。"
                       "请重新安装本程序；仍无法解决请联系技术支持。")


class IntegrityError(StoreError):
    """A ciphertext that does not authenticate: tampered, truncated, moved or under another key."""


# -- the two AEAD primitives ------------------------------------------------------------------------
class _Aead:
    name: str
    ident: int
    key_bytes: int

    def seal(self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes) -> bytes:
        raise NotImplementedError

    def open(self, key: bytes, nonce: bytes, sealed: bytes | memoryview, aad: bytes) -> bytes:
        """The plaintext; raises ``InvalidTag`` when the tag does not verify."""
        raise NotImplementedError


class _Sm4Gcm(_Aead):
    """SM4 (GB/T 32907) in GCM mode, as in RFC 8998: 128-bit key, 96-bit nonce, 128-bit tag."""

    name, ident, key_bytes = SM4_GCM, 1, 16

    def seal(self, key, nonce, data, aad):
        enc = _BlockCipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        out = enc.update(data) + enc.finalize()
        return out + enc.tag

    def open(self, key, nonce, sealed, aad):
        if len(sealed) < TAG_BYTES:
            raise InvalidTag()
        sealed = memoryview(sealed)
        dec = _BlockCipher(algorithms.SM4(key), modes.GCM(nonce, bytes(sealed[-TAG_BYTES:]))).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(sealed[:-TAG_BYTES]) + dec.finalize()


class _Aes256Gcm(_Aead):
    """AES-256-GCM (for sites that do not require 国密 algorithms; much faster without SM4 hardware)."""

    name, ident, key_bytes = AES_256_GCM, 2, 32

    def seal(self, key, nonce, data, aad):
        return AESGCM(key).encrypt(nonce, bytes(data), aad)

    def open(self, key, nonce, sealed, aad):
        return AESGCM(key).decrypt(nonce, bytes(sealed), aad)


_AEADS: dict[str, _Aead] = {a.name: a for a in (_Sm4Gcm(), _Aes256Gcm())}
_BY_ID: dict[int, _Aead] = {a.ident: a for a in _AEADS.values()}
ALGORITHMS = tuple(_AEADS)

# known-answer tests run once per algorithm before first use (RFC 8998 A.1; GCM spec test case 14)
_KAT = {
    SM4_GCM: ("0123456789abcdeffedcba9876543210", "00001234567800000000abcd",
              ("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
               "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa"),
              "feedfacedeadbeeffeedfacedeadbeefabaddad2",
              ("17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
               "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
               "83de3541e4c2b58177e065a9bf7b62ec")),
    AES_256_GCM: ("00" * 32, "00" * 12, "00" * 16, "",
                  "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"),
}
_checked: set[str] = set()
_checked_lock = threading.Lock()


def _self_test(aead: _Aead) -> None:
    """Refuse an algorithm this build of cryptography/OpenSSL lacks or computes wrongly."""
    with _checked_lock:
        if aead.name in _checked:
            return
        key, nonce, plain, aad, expected = (bytes.fromhex(h) for h in _KAT[aead.name])
        try:
            ok = aead.seal(key, nonce, plain, aad) == expected and aead.open(key, nonce, expected, aad) == plain
        except (UnsupportedAlgorithm, InvalidTag, ValueError) as exc:
            raise StoreError(UNSUPPORTED_MESSAGE.format(name=aead.name),
                             f"{aead.name} unavailable in this cryptography build: {exc!r}") from exc
        if not ok:
            raise StoreError(UNSUPPORTED_MESSAGE.format(name=aead.name),
                             f"{aead.name} failed its known-answer test")
        _checked.add(aead.name)


def _context_bytes(context: str | bytes) -> bytes:
    return context.encode("utf-8") if isinstance(context, str) else bytes(context)


def field_context(table: str, column: str, row_key: str | int) -> bytes:
    """The associated data of one stored field: it only decrypts in this table, column and row."""
    parts = [b"field", table.encode(), column.encode(), str(row_key).encode()]
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


def _fingerprint(context: bytes) -> str:
    """A log-safe stand-in for a context (it may contain a row key)."""
    return hashlib.sha256(context).hexdigest()[:12]


# -- look-up normalisation --------------------------------------------------------------------------
def normalise_id_number(value: str) -> str:
    """Full-width to half-width, no whitespace, upper case: ``１１０１０５…ｘ`` -> ``110105…X``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def normalise_phone(value: str) -> str:
    """Digits only, national form: drops +86 / 0086 (and a bare 86 before an 11-digit mobile)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    digits = re.sub(r"\D", "", text)
    if text.startswith("+86"):
        rest = digits[2:]
    elif digits.startswith("0086"):
        rest = digits[4:]
    elif len(digits) == 13 and digits.startswith("861"):
        rest = digits[2:]
    else:
        return digits
    if rest and not (len(rest) == 11 and rest.startswith("1")) and not rest.startswith("0"):
        rest = "0" + rest  # a landline in international form lost its trunk 0: 86 10 … -> 010 …
    return rest


def normalise_name(value: str) -> str:
    """Full-width to half-width, no whitespace: ``张　三`` -> ``张三``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


_NORMALISERS = {KIND_ID_NUMBER: normalise_id_number, KIND_PHONE: normalise_phone, KIND_NAME: normalise_name}


# -- the cipher -------------------------------------------------------------------------------------
class Cipher:
    """Encrypts with one algorithm under the current data key; decrypts whatever the envelope names.

    ``old_keys`` are earlier data keys still needed to read old rows while keys rotate.
    """

    def __init__(self, keys: DataKeys, algorithm: str = DEFAULT_ALGORITHM, old_keys: Iterable[DataKeys] = ()):
        if algorithm not in _AEADS:
            raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")
        self._aead = _AEADS[algorithm]
        _self_test(self._aead)
        self._keys = keys
        self._by_id: dict[int, DataKeys] = {k.key_id: k for k in old_keys}
        self._by_id[keys.key_id] = keys

    @property
    def algorithm(self) -> str:
        return self._aead.name

    def has_key(self, key_id: int) -> bool:
        """Whether envelopes under ``key_id`` can be read here."""
        return key_id in self._by_id

    def _key(self, aead: _Aead, keys: DataKeys) -> bytes:
        return keys.encryption(aead.name, aead.key_bytes)

    def _reader(self, alg_id: int, key_id: int, what: str, context: bytes) -> tuple[_Aead, DataKeys]:
        aead = _BY_ID.get(alg_id)
        if aead is None:
            raise StoreError(UNKNOWN_FORMAT_MESSAGE, f"{what}: unknown algorithm id {alg_id}")
        keys = self._by_id.get(key_id)
        if keys is None:
            raise IntegrityError(FOREIGN_KEY_MESSAGE, f"{what}: encrypted under unknown key id {key_id:08x} "
                                                      f"(context {_fingerprint(context)})")
        if aead is not self._aead:
            _self_test(aead)
        return aead, keys

    # -- fields ---------------------------------------------------------------------------------
    def encrypt(self, plaintext: bytes, context: str | bytes) -> bytes:
        """A field envelope of ``plaintext`` that only decrypts with the same ``context``."""
        header = FIELD_HEADER.pack(FIELD_MAGIC, self._aead.ident, self._keys.key_id)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.seal(self._key(self._aead, self._keys), nonce, plaintext,
                                 header + _context_bytes(context))
        return header + nonce + sealed

    def decrypt(self, envelope: bytes, context: str | bytes) -> bytes:
        context = _context_bytes(context)
        envelope = bytes(envelope)
        if len(envelope) < FIELD_OVERHEAD:
            raise IntegrityError(INTEGRITY_MESSAGE, f"field envelope too short ({len(envelope)} bytes, "
                                                    f"context {_fingerprint(context)})")
        magic, alg_id, key_id = FIELD_HEADER.unpack_from(envelope)
        if magic != FIELD_MAGIC:
            raise StoreError(UNKNOWN_FORMAT_MESSAGE, f"field envelope: unknown format byte {magic:#04x}")
        aead, keys = self._reader(alg_id, key_id, "field envelope", context)
        header = envelope[:FIELD_HEADER.size]
        nonce = envelope[FIELD_HEADER.size:FIELD_HEADER.size + NONCE_BYTES]
        try:
            return aead.open(self._key(aead, keys), nonce, envelope[FIELD_HEADER.size + NONCE_BYTES:],
                             header + context)
        except InvalidTag:
            raise IntegrityError(INTEGRITY_MESSAGE, f"field envelope failed authentication ({aead.name}, "
                                                    f"key {key_id:08x}, {len(envelope)} bytes, "
                                                    f"context {_fingerprint(context)})") from None

    def encrypt_field(self, text: str, context: str | bytes) -> bytes:
        return self.encrypt(text.encode("utf-8"), context)

    def decrypt_field(self, blob: bytes, context: str | bytes) -> str:
        data = self.decrypt(blob, context)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # authenticated, so written by us as bytes, not text: a bug
            raise IntegrityError(INTEGRITY_MESSAGE, "field envelope does not hold UTF-8 text") from None

    def lookup_hash(self, kind: str, value: str) -> str:
        """HMAC-SHA256 (hex) of a normalised ID number, phone or name: an exact-match index key."""
        normalise = _NORMALISERS.get(kind)
        if normalise is None:
            raise ValueError(f"unknown look-up kind {kind!r}; expected one of {tuple(_NORMALISERS)}")
        norm = normalise(value)
        if not norm:
            raise ValueError(f"empty {kind} after normalisation")
        return hmac.new(self._keys.lookup, kind.encode() + b"\0" + norm.encode("utf-8"), hashlib.sha256).hexdigest()

    # -- chunked streams ----------------------------------------------------------------------------
    def stream_encryptor(self, size: int, context: str | bytes,
                         chunk_size: int = DEFAULT_CHUNK_SIZE) -> StreamEncryptor:
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size {chunk_size} out of range")
        header = STREAM_HEADER.pack(STREAM_MAGIC, self._aead.ident, self._keys.key_id,
                                    os.urandom(NONCE_BYTES), chunk_size, size)
        return StreamEncryptor(StreamLayout.parse(header), self._aead, self._key(self._aead, self._keys),
                               _context_bytes(context))

    def stream_decryptor(self, header: bytes, context: str | bytes) -> StreamDecryptor:
        context = _context_bytes(context)
        layout = StreamLayout.parse(header)
        aead, keys = self._reader(layout.alg_id, layout.key_id, "stream", context)
        return StreamDecryptor(layout, aead, self._key(aead, keys), context)


@dataclass(frozen=True)
class StreamLayout:
    """The parsed header of a chunked stream and the sizes that follow from it."""

    header: bytes
    alg_id: int
    key_id: int
    base_nonce: bytes
    chunk_size: int
    size: int

    @classmethod
    def parse(cls, header: bytes) -> StreamLayout:
        if len(header) != STREAM_HEADER.size:
            raise IntegrityError(INTEGRITY_MESSAGE, f"stream header has {len(header)} bytes")
        magic, alg_id, key_id, nonce, chunk_size, size = STREAM_HEADER.unpack(header)
        if magic != STREAM_MAGIC:
            raise StoreError(UNKNOWN_FORMAT_MESSAGE, f"stream: unknown format byte {magic:#04x}")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise IntegrityError(INTEGRITY_MESSAGE, f"stream header names chunk size {chunk_size}")
        return cls(bytes(header), alg_id, key_id, nonce, chunk_size, size)

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.size // self.chunk_size))

    def plain_length(self, index: int) -> int:
        if index < self.chunk_count - 1:
            return self.chunk_size
        return self.size - (self.chunk_count - 1) * self.chunk_size

    def sealed_length(self, index: int) -> int:
        return self.plain_length(index) + TAG_BYTES

    @property
    def total_length(self) -> int:
        """Bytes of header and all sealed chunks: anything else is truncation or junk."""
        return STREAM_HEADER.size + self.size + TAG_BYTES * self.chunk_count

    def _nonce(self, index: int) -> bytes:
        n = int.from_bytes(self.base_nonce, "big") ^ index
        return n.to_bytes(NONCE_BYTES, "big")

    def _aad(self, index: int, context: bytes) -> bytes:
        return self.header + CHUNK_AAD.pack(index, index == self.chunk_count - 1) + context


class StreamEncryptor:
    """Seals the chunks of one stream in order; ``header`` goes first in the file."""

    def __init__(self, layout: StreamLayout, aead: _Aead, key: bytes, context: bytes):
        self.layout, self._aead, self._key, self._context = layout, aead, key, context
        self._next = 0

    @property
    def header(self) -> bytes:
        return self.layout.header

    def seal(self, chunk: bytes | memoryview) -> bytes:
        """Seal the next chunk (exactly ``layout.plain_length(i)`` bytes)."""
        i = self._next
        if i >= self.layout.chunk_count or len(chunk) != self.layout.plain_length(i):
            raise ValueError(f"chunk {i} of {len(chunk)} bytes does not fit the stream layout")
        self._next += 1
        return self._aead.seal(self._key, self.layout._nonce(i), chunk, self.layout._aad(i, self._context))

    def chunks(self, data: bytes | memoryview) -> Iterator[bytes]:
        """Header, then every sealed chunk of in-memory ``data``."""
        view = memoryview(data)
        yield self.header
        for i in range(self.layout.chunk_count):
            start = i * self.layout.chunk_size
            yield self.seal(view[start:start + self.layout.plain_length(i)])


class StreamDecryptor:
    """Opens the chunks of one stream; each must be presented with its index."""

    def __init__(self, layout: StreamLayout, aead: _Aead, key: bytes, context: bytes):
        self.layout, self._aead, self._key, self._context = layout, aead, key, context

    def open(self, index: int, sealed: bytes | memoryview) -> bytes:
        layout = self.layout
        if not 0 <= index < layout.chunk_count or len(sealed) != layout.sealed_length(index):
            raise IntegrityError(INTEGRITY_MESSAGE, f"stream chunk {index} has {len(sealed)} bytes, "
                                                    f"expected {layout.sealed_length(index)} (truncated?)")
        try:
            return self._aead.open(self._key, layout._nonce(index), sealed, layout._aad(index, self._context))
        except InvalidTag:
            raise IntegrityError(INTEGRITY_MESSAGE, f"stream chunk {index}/{layout.chunk_count} failed "
                                                    f"authentication ({self._aead.name}, key {layout.key_id:08x}, "
                                                    f"context {_fingerprint(self._context)})") from None
