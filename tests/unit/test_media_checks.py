"""Content checks on media: signatures of audio and video, images a model returns, and the
messages and conversions of image preparation."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Sequence

import pytest
from PIL import Image

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.fetch import FETCH_HINT, fetch_url
from gatewise.media.image import prepare_image
from gatewise.media.sniff import audio_format, image_format, video_type
from gatewise.multimodal.images import audio_part, decode_data_url, load_images, video_part
from gatewise.multimodal.returned import check_returned_images

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(16)


def _png(size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "JPEG")
    return buffer.getvalue()


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _answer(*urls: object) -> dict[str, object]:
    return {"images": [{"type": "image_url", "image_url": {"url": url}} for url in urls]}


@pytest.mark.parametrize(("data", "fmt"), [
    (WAV, "wav"), (b"ID3\x04\x00\x00\x00\x00\x00\x05" + bytes(5) + b"\xff\xfb\x90\x00", "mp3"),
    (b"\xff\xfb\x90\x00" + bytes(8), "mp3"), (b"fLaC\x00\x00\x00\x22", "flac"), (b"OggS\x00\x02", "ogg"),
    (b"\x00\x00\x00\x20ftypM4A " + bytes(8), "m4a"), (b"\xff\xf1\x50\x80" + bytes(8), "aac"),
    (b"FORM\x00\x00\x00\x10AIFFCOMM", "aiff"),
    (b"hello, not audio!", None), (b"junk", None), (b"ID3\x04\x00\x00\x00\x00\x00\x05", None), (b"", None)])
def test_audio_format_is_read_from_the_bytes(data: bytes, fmt: str | None) -> None:
    assert audio_format(data) == fmt


@pytest.mark.parametrize(("data", "mime"), [
    (MP4, "video/mp4"), (b"\x00\x00\x00\x14ftypqt  " + bytes(8), "video/quicktime"),
    (b"\x00\x00\x00\x08wide" + bytes(8), "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", None), (b"\x00\x00\x01\xba\x44", "video/mpeg"),
    (b"hello", None)])
def test_video_type_is_read_from_the_bytes(data: bytes, mime: str | None) -> None:
    assert video_type(data) == mime


def test_image_signatures() -> None:
    assert [image_format(d) for d in (_png(), _jpeg(), b"RIFF\0\0\0\0WEBPVP8 ", b"GIF89a", b"text")] == [
        "PNG", "JPEG", "WEBP", "GIF", None]


def test_audio_that_is_not_audio_or_not_what_it_claims_is_refused(tmp_path) -> None:
    media = MediaConfig(allowed_roots=[tmp_path])
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"just some text..\n")  # 17 bytes
    for source, declared in ((str(fake), None), ("data:audio/wav;base64,anVuaw==", None)):
        with pytest.raises(GatewiseError) as caught:
            audio_part(source, media, declared)
        assert caught.value.code is ErrorCode.INVALID_INPUT and "holds no audio" in caught.value.message
    with pytest.raises(GatewiseError) as caught:
        audio_part(_data_url("audio/wav", WAV), media, "mp3")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.message == "audio_format is 'mp3' but the audio is wav."
    # A misleading name or type does not matter: the bytes decide what is sent.
    misnamed = tmp_path / "clip.mp3"
    misnamed.write_bytes(WAV)
    part, size = audio_part(str(misnamed), media, None)
    assert part["input_audio"]["format"] == "wav" and size == len(WAV)
    assert audio_part(_data_url("audio/mpeg", WAV), media, "WAV")[0]["input_audio"]["format"] == "wav"


def test_video_is_sent_with_the_type_of_its_bytes(tmp_path) -> None:
    media = MediaConfig(allowed_roots=[tmp_path])
    text = tmp_path / "text.mp4"
    text.write_bytes(b"hello")
    with pytest.raises(GatewiseError) as caught:
        video_part(str(text), media)
    assert caught.value.code is ErrorCode.INVALID_INPUT and "holds no video" in caught.value.message
    named_mov = tmp_path / "clip.mov"
    named_mov.write_bytes(MP4)
    part, size = video_part(str(named_mov), media)
    assert part["video_url"]["url"] == _data_url("video/mp4", MP4) and size == len(MP4)
    with pytest.raises(GatewiseError) as caught:
        video_part(_data_url("video/webm", MP4), media)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.message == "The data URL says 'video/webm' but holds video/mp4."
    assert video_part(_data_url("video/mp4", MP4), media)[1] == len(MP4)


async def test_upper_case_data_urls_are_data_urls() -> None:
    url = _data_url("image/png", _png()).replace("data:image/png;base64", "DATA:IMAGE/PNG;BASE64")
    assert decode_data_url(url).mime_type == "image/png"
    (loaded,) = await load_images([url], MediaConfig())
    assert loaded.label == "image 1 (data URL)" and loaded.image.original_format == "PNG"


def test_cmyk_and_16_bit_images_are_converted_even_when_small() -> None:
    cmyk = prepare_image(_jpeg(mode="CMYK"), MediaConfig())
    assert Image.open(io.BytesIO(cmyk.data)).mode == "RGB" and cmyk.mime_type == "image/jpeg"
    assert cmyk.actions[0] == "colour mode CMYK converted"
    grey16 = prepare_image(_png(mode="I;16"), MediaConfig())
    assert Image.open(io.BytesIO(grey16.data)).mode in ("L", "RGB")
    assert grey16.actions[0].startswith("colour mode I")
    plain = _png()
    assert prepare_image(plain, MediaConfig()).data == plain  # RGB still passes through untouched


def test_cut_images_read_alike_whatever_their_format() -> None:
    for fmt, data in (("JPEG", _jpeg()), ("PNG", _png())):
        for cut in (data[:12], data[: len(data) // 2]):
            with pytest.raises(GatewiseError) as caught:
                prepare_image(cut, MediaConfig(), source="trunc")
            assert caught.value.code is ErrorCode.UNSUPPORTED_FORMAT
            assert caught.value.message == f"trunc is a damaged or truncated {fmt} file."


def test_too_many_pixels_names_the_setting() -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))
    with pytest.raises(GatewiseError) as caught:
        prepare_image(bomb, MediaConfig(), source="bomb.png")
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert caught.value.message == ("bomb.png has too many pixels to decode safely; the limit is "
                                    "100,000,000 pixels (media.max_pixels).")
    assert "named in the configuration" not in str(caught.value)


async def test_a_failed_fetch_hints_at_the_fetch_and_quotes_the_host_briefly() -> None:
    async def no_such_host(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(-2, "Name or service not known")

    host = "c" * 60 + "." + "c" * 60 + ".com"
    with pytest.raises(GatewiseError) as caught:
        await fetch_url(f"http://{host}/x.png", MediaConfig(), resolver=no_such_host)
    err = caught.value
    assert err.code is ErrorCode.UPSTREAM_ERROR and err.hint == FETCH_HINT
    assert err.message == f"Could not resolve '{'c' * 59}…': [Errno -2] Name or service not known."


@pytest.mark.parametrize("url", ["http://" + "d" * 5000 + ".com/x", "http://" + "c" * 200 + ".internal/x",
                                 "http://" + "1." * 3000 + "1/", "gopher" * 100 + "://x.com/"])
async def test_refusals_quote_at_most_sixty_characters_of_a_url(url: str) -> None:
    with pytest.raises(GatewiseError) as caught:
        await fetch_url(url, MediaConfig())
    assert caught.value.code in (ErrorCode.UNSAFE_URL, ErrorCode.INVALID_INPUT)
    assert len(caught.value.message) < 200


async def test_returned_images_are_checked_like_input_images() -> None:
    media = MediaConfig(max_input_bytes=50_000, max_call_pixels=5_000)
    answer = _answer(
        _data_url("image/png", _png()), _data_url("text/html", b"<script>alert(1)</script>"),
        _data_url("image/png", b"\x89PNG\r\n\x1a\n" + bytes(22)), _data_url("image/jpeg", _png()),
        _data_url("image/png", _png((80, 60))),
        _data_url("image/png", bytes(60_000)), _data_url("image/bmp", _bmp()), "data:image/png,notbase64",
        "file:///etc/passwd", "http://169.254.169.254/x.png", "javascript:alert(1)",
        "https://" + "a" * 2100 + ".example/x.png", "https://cdn.example.com/cat.png", 42)
    checked = await check_returned_images(answer, media)
    # Declared a JPEG, but the bytes are a PNG: the type comes from the bytes.
    assert [mime for mime, _ in checked.images] == ["image/png", "image/png"]
    assert checked.links == ["https://cdn.example.com/cat.png"]
    assert checked.warnings() == [
        "Dropped 11 of the 14 images the model returned: not a whole PNG, JPEG, WebP or GIF image (2); "
        "declared 'text/html', not an image type (1); too large to decode (media.max_pixels or "
        "media.max_call_pixels) (1); larger than 50,000 bytes (media.max_input_bytes) (1); a malformed "
        "data: URL (1); a file: link, not http(s) (1); a link to a local, private or invalid host (1); "
        "a javascript: link, not http(s) (1); a link longer than 2,048 characters (1); no URL (1)."]


async def test_only_the_first_returned_images_are_checked() -> None:
    answer = _answer(*[_data_url("image/png", _png())] * 20)
    checked = await check_returned_images(answer, MediaConfig())
    assert len(checked.images) == 16
    assert checked.warnings() == ["Dropped 4 of the 20 images the model returned: past the first 16 (4)."]


def _bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "BMP")
    return buffer.getvalue()
