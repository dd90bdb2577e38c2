"""What a file is, told from its first bytes (magic numbers), never from its name or declared type.

Images are opened by Pillow, which knows its formats; these checks say whether bytes Pillow could
not read are a damaged image of an accepted format or no image at all. Audio and video are sent
on undecoded, so their signatures are the only check before a provider is paid to read them.
"""

from __future__ import annotations

_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"),
                     (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))
_EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM
_ID3_HEADER = 10


def image_format(data: bytes) -> str | None:
    """The image format the bytes announce (PNG, JPEG, GIF, BMP, TIFF, WEBP), or None."""
    if _riff(data, b"WEBP"):
        return "WEBP"
    return next((fmt for magic, fmt in _IMAGE_SIGNATURES if data.startswith(magic)), None)


def audio_format(data: bytes) -> str | None:
    """The audio format as OpenRouter's ``input_audio.format`` names it (wav, mp3, flac, ogg,
    m4a, aac, aiff), or None for bytes that are none of them."""
    if _riff(data, b"WAVE"):
        return "wav"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if data.startswith(b"OggS"):
        return "ogg"
    if data[4:8] == b"ftyp":  # ISO media (MPEG-4 audio)
        return "m4a"
    if data.startswith(b"ID3"):  # a tag in front of MP3 (or FLAC, AAC) frames: look behind it
        size = _syncsafe(data[6:10])
        rest = data[_ID3_HEADER + size:] if size is not None else b""
        return _framed_audio(rest) if rest else None
    return _framed_audio(data)


def _framed_audio(data: bytes) -> str | None:
    if data.startswith(b"fLaC"):
        return "flac"
    if data.startswith(b"ADIF"):
        return "aac"
    if len(data) < 2 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return None
    if data[1] & 0x06 == 0:  # layer bits 00: an ADTS (AAC) frame, not MPEG audio
        return "aac" if data[1] & 0xF0 == 0xF0 else None
    return "mp3" if data[1] & 0x18 != 0x08 else None  # version bits 01 are reserved


def video_type(data: bytes) -> str | None:
    """The MIME type of a video the tools accept (MP4, QuickTime, WebM, MPEG), or None."""
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # QuickTime files from before ftyp
        return "video/quicktime"
    if data.startswith(_EBML):
        return "video/webm" if b"webm" in data[:64] else None  # Matroska (mkv) is not accepted
    if data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):  # MPEG program stream or sequence
        return "video/mpeg"
    return None


def _riff(data: bytes, kind: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == kind


def _syncsafe(raw: bytes) -> int | None:
    """An ID3 tag's size: four bytes of seven bits each."""
    if len(raw) != 4 or any(b & 0x80 for b in raw):
        return None
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]
