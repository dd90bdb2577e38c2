"""Remove metadata (EXIF with GPS, XMP, IPTC, comments) from images sent as they are: JPEG, PNG,
WebP and GIF.

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
# GIF blocks, and the application extensions that matter to the picture: the loop count of an
# animation (NETSCAPE2.0, ANIMEXTS1.0) and a colour profile (ICCRGBG1012). Any other application
# extension (XMP, ImageMagick's IPTC and 8BIM, an editor's own) and every comment goes.
_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B
_GIF_COMMENT, _GIF_APPLICATION = 0xFE, 0xFF
_GIF_KEPT_APPLICATIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012")


def strip_metadata(data: bytes, fmt: str) -> tuple[bytes, list[str]]:
    """The image without its metadata blocks, and what was removed (empty: ``data`` unchanged).
    A file whose structure is not as expected is returned unchanged rather than risk damage."""
    strip = {"JPEG": _jpeg, "MPO": _jpeg, "PNG": _png, "WEBP": _webp, "GIF": _gif}.get(fmt)
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


def _gif(data: bytes) -> tuple[bytes, list[str]]:
    """Comment and application extensions cut out between the frames, which stay byte for byte
    (an animation keeps every frame, its timing and its loop count)."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    pos = 13 + _gif_colour_table(data[10])  # header, screen descriptor, global colour table
    kept, removed, start = [], [], 0
    while pos < len(data) and data[pos] != _GIF_TRAILER:  # a missing trailer is forgiven, as by readers
        if data[pos] == _GIF_IMAGE:  # descriptor, local colour table, LZW code size, data blocks
            pos = _gif_blocks_end(data, pos + 11 + _gif_colour_table(data[pos + 9]))
        elif data[pos] == _GIF_EXTENSION:
            end = _gif_blocks_end(data, pos + 2)
            what = _gif_metadata(data[pos + 1], data[pos + 2:end])
            if what:
                removed.append(what)
                kept.append(data[start:pos])
                start = end
            pos = end
        else:
            raise ValueError("unknown GIF block")
    if not removed:
        return data, []
    kept.append(data[start:pos + 1])  # up to the trailer; nothing after it is a picture
    return b"".join(kept), _unique(removed)


def _gif_colour_table(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _gif_blocks_end(data: bytes, pos: int) -> int:
    """Where the data sub-blocks starting at ``pos`` end, past their terminator."""
    while size := data[pos]:  # an IndexError when they run past the end
        pos += 1 + size
    return pos + 1


def _gif_metadata(label: int, blocks: bytes) -> str | None:
    """What an extension holds, when it is metadata; None for one the picture needs."""
    if label == _GIF_COMMENT:
        return "comment"
    if label != _GIF_APPLICATION or blocks[1:12] in _GIF_KEPT_APPLICATIONS:
        return None
    return "XMP" if blocks[1:12] == b"XMP DataXMP" else "application data"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
