"""Remove metadata (EXIF with GPS, XMP, IPTC, comments) from images sent as they are.

An image that needs no other change is sent byte for byte, so its pixels are untouched; only the
container's metadata blocks are cut out. What the picture looks like is kept: colour profiles
(ICC), JFIF/Adobe colour markers and gamma. Orientation needs no EXIF afterwards: an image whose
EXIF asks for rotation is re-encoded upright before it gets here.
"""

from __future__ import annotations

import struct

# JPEG: APP1 (EXIF, XMP), APP12 (Ducky/picture info), APP13 (IPTC/Photoshop), COM (comments).
_JPEG_DROP = {0xE1: "EXIF/XMP", 0xEC: "APP12", 0xED: "IPTC", 0xFE: "comment"}
_JPEG_SOS = 0xDA
# PNG chunks that hold text or camera data, never pixels or colour.
_PNG_DROP = {b"eXIf": "EXIF", b"tEXt": "text", b"zTXt": "text", b"iTXt": "text/XMP", b"tIME": "time"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# WebP RIFF chunks, and the VP8X header flags that announce them.
_WEBP_DROP = {b"EXIF": "EXIF", b"XMP ": "XMP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip_metadata(data: bytes, fmt: str) -> tuple[bytes, list[str]]:
    """The image without its metadata blocks, and what was removed (empty: ``data`` unchanged).
    A file whose structure is not as expected is returned unchanged rather than risk damage."""
    strip = {"JPEG": _jpeg, "MPO": _jpeg, "PNG": _png, "WEBP": _webp}.get(fmt)
    if strip is None:
        return data, []
    try:
        return strip(data)
    except (IndexError, ValueError, struct.error):
        return data, []


def _jpeg(data: bytes) -> tuple[bytes, list[str]]:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, removed, pos = bytearray(data[:2]), [], 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError("lost marker sync")
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before the marker
            pos += 1
            continue
        if marker == _JPEG_SOS:  # entropy-coded data follows: copy the rest as it is
            out += data[pos:]
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[pos:pos + 2]
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if end > len(data):
            raise ValueError("segment runs past the end")
        if marker in _JPEG_DROP:
            removed.append(_JPEG_DROP[marker])
        else:
            out += data[pos:end]
        pos = end
    return (bytes(out), _unique(removed)) if removed else (data, [])


def _png(data: bytes) -> tuple[bytes, list[str]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out, removed, pos = bytearray(_PNG_SIGNATURE), [], len(_PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if end > len(data):
            raise ValueError("chunk runs past the end")
        if kind in _PNG_DROP:
            removed.append(_PNG_DROP[kind])
        else:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    return (bytes(out), _unique(removed)) if removed else (data, [])


def _webp(data: bytes) -> tuple[bytes, list[str]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks, removed, pos = [], [], 12
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        end = pos + 8 + length + (length & 1)  # chunks are padded to an even size
        if end > len(data):
            raise ValueError("chunk runs past the end")
        if kind in _WEBP_DROP:
            removed.append(_WEBP_DROP[kind])
        else:
            chunks.append(bytearray(data[pos:end]))
        pos = end
    if not removed:
        return data, []
    for chunk in chunks:
        if chunk[:4] == b"VP8X":  # no longer announce what was removed
            chunk[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body, _unique(removed)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
