"""Reading files safely: the bytes must be what the extension says, text must be UTF-8."""
from __future__ import annotations

from pathlib import Path

from inputs.errors import InputError

PARQUET_MAGIC = b"PAR1"
# Signatures of common binary formats a user might pass by mistake.
_BINARY_SIGNATURES = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "a SQLite database",
}


def read_bytes(path: str | Path) -> bytes:
    """Read a file's bytes, turning OS errors into InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(path), "file not found")
    if p.is_dir():
        raise InputError(str(path), "is a folder, expected a file")
    try:
        return p.read_bytes()
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})") from None


def sniff_binary(data: bytes) -> str | None:
    """Name of the binary format ``data`` starts with, if it is a known one."""
    for signature, name in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            return name
    if b"\x00" in data[:4096]:
        return "a binary file"
    return None


def read_text(path: str | Path, data: bytes | None = None) -> str:
    """Read a text file (CSV, TOML) as UTF-8, refusing binary content and other encodings."""
    if data is None:
        data = read_bytes(path)
    kind = sniff_binary(data)
    if kind is not None:
        raise InputError(str(path), f"is {kind}, not a text file as its extension {Path(path).suffix!r} says")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(str(path), f"is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "save it as UTF-8", row=line) from None
    if not text.strip():
        raise InputError(str(path), "the file is empty")
    return text
