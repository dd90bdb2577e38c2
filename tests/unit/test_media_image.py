"""prepare_image: content sniffing, bomb and damage checks, orientation, scaling, format choice;
the per-call decode budget, checked from the headers before anything is decoded."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.image import check_call_budget, prepare_image, read_header
from gatewise.multimodal.images import load_images

SMALL = MediaConfig(max_long_side=128)


def _bytes(im: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def _photo(size: tuple[int, int]) -> Image.Image:
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (Image.effect_noise(size, 40), gradient, Image.effect_noise(size, 70)))


def _screenshot(size: tuple[int, int]) -> Image.Image:
    im = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, size[0], 30), fill=(40, 60, 90))
    for row in range(50, size[1] - 20, 24):
        draw.text((20, row), "Settings  Profile  Save changes", fill=(20, 20, 20))
    return im


def _error(data: bytes, settings: MediaConfig = SMALL, **kwargs: object) -> GatewiseError:
    with pytest.raises(GatewiseError) as info:
        prepare_image(data, settings, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_format_comes_from_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(_bytes(_screenshot((60, 40)), "PNG"))
    out = prepare_image(path.read_bytes(), SMALL, source=path.name)
    assert out.original_format == "PNG"
    assert out.mime_type == "image/png"


def test_text_file_is_unsupported() -> None:
    err = _error(b"hello, I am not an image\n" * 10, source="fake.png")
    assert err.code is ErrorCode.UNSUPPORTED_FORMAT
    assert "fake.png" in err.message
    assert "hello" not in str(err)


def test_unlisted_format_is_unsupported() -> None:
    assert _error(_bytes(_screenshot((20, 20)), "PPM")).code is ErrorCode.UNSUPPORTED_FORMAT


def test_truncated_jpeg_is_a_clear_error() -> None:
    data = _bytes(_photo((300, 200)), "JPEG")
    err = _error(data[: len(data) // 2], source="cut.jpg")
    assert err.code is ErrorCode.UNSUPPORTED_FORMAT
    assert "damaged or truncated JPEG" in err.message


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` but which holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def test_header_claiming_huge_dimensions_is_too_large() -> None:
    assert _error(_png_header_only(100_000, 100_000)).code is ErrorCode.TOO_LARGE


def test_header_above_configured_pixels_is_refused_before_decoding() -> None:
    err = _error(_png_header_only(5000, 5000), MediaConfig(max_pixels=1_000_000))
    assert err.code is ErrorCode.TOO_LARGE
    assert "5000x5000" in err.message


def test_pixel_limit_from_settings() -> None:
    err = _error(_bytes(_screenshot((100, 100)), "PNG"), MediaConfig(max_pixels=5_000))
    assert err.code is ErrorCode.TOO_LARGE
    assert "media.max_pixels" in err.message


def test_byte_limit_from_settings() -> None:
    err = _error(_bytes(_photo((100, 100)), "PNG"), MediaConfig(max_input_bytes=1000))
    assert err.code is ErrorCode.TOO_LARGE
    assert "media.max_input_bytes" in err.message


def test_header_tells_the_decode_cost_without_decoding() -> None:
    bilevel = read_header(_bytes(Image.new("1", (300, 200)), "PNG"), SMALL)
    assert (bilevel.pixels, bilevel.decoded_bytes) == (60_000, 60_000)  # a byte a pixel
    rgb = read_header(_bytes(_screenshot((300, 200)), "PNG"), SMALL)
    assert (rgb.pixels, rgb.decoded_bytes) == (60_000, 240_000)  # RGB is held in four
    # A large JPEG counts at the 1/8 scale it is decoded at (still at least 128 on the long side).
    photo = read_header(_bytes(_photo((1600, 1200)), "JPEG"), SMALL)
    assert photo.pixels == 200 * 150
    undecodable = read_header(_png_header_only(40, 40), SMALL)  # only the header is read
    assert undecodable.pixels == 1600
    assert _error(_png_header_only(5000, 5000), MediaConfig(max_pixels=1_000_000)).code is ErrorCode.TOO_LARGE


def test_call_budget_names_the_setting_it_exceeds() -> None:
    screenshots = [read_header(_bytes(_screenshot((100, 100)), "PNG"), SMALL)] * 3
    check_call_budget(screenshots, MediaConfig(max_call_pixels=30_000, max_call_decoded_bytes=120_000))
    with pytest.raises(GatewiseError) as pixels:
        check_call_budget(screenshots, MediaConfig(max_call_pixels=29_999))
    assert pixels.value.code is ErrorCode.TOO_LARGE
    assert "media.max_call_pixels" in pixels.value.message and "30,000 pixels" in pixels.value.message
    with pytest.raises(GatewiseError) as decoded:
        check_call_budget(screenshots, MediaConfig(max_call_decoded_bytes=119_999))
    assert decoded.value.code is ErrorCode.TOO_LARGE
    assert "media.max_call_decoded_bytes" in decoded.value.message


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def test_call_over_budget_is_refused_before_any_image_is_decoded() -> None:
    # The first image cannot be decoded: had anything been decoded before the budget check,
    # the call would fail with UNSUPPORTED_FORMAT instead.
    bombs = [_data_url(_png_header_only(9000, 9000))] * 16  # 81 MP each, alone within max_pixels
    with pytest.raises(GatewiseError) as info:
        await load_images(bombs, MediaConfig())
    assert info.value.code is ErrorCode.TOO_LARGE
    assert "16 images" in info.value.message and "media.max_call_pixels" in info.value.message
    # Alone, the same image is within budget and gets as far as decoding.
    with pytest.raises(GatewiseError) as alone:
        await load_images(bombs[:1], MediaConfig())
    assert alone.value.code is ErrorCode.UNSUPPORTED_FORMAT


async def test_images_within_budget_are_prepared_in_order() -> None:
    sources = [_data_url(_bytes(_screenshot((300 + i, 100)), "PNG")) for i in range(4)]
    loaded = await load_images(sources, SMALL)
    assert [item.label for item in loaded] == [f"image {i + 1} (data URL)" for i in range(4)]
    assert [item.image.original_width for item in loaded] == [300, 301, 302, 303]
    assert await load_images([], SMALL) == []


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (80, 40), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 40, 40))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 90° anticlockwise; display needs a clockwise turn
    out = prepare_image(_bytes(im, "JPEG", exif=exif), SMALL)
    assert (out.width, out.height) == (40, 80)
    assert "EXIF orientation applied" in out.actions
    shown = Image.open(io.BytesIO(out.data))
    red, _, blue = shown.convert("RGB").getpixel((20, 10))
    assert red > 200 and blue < 60  # the red left half is now on top
    assert shown.getexif().get(0x0112) in (None, 1)


def test_exif_orientation_with_scaling_swaps_target() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    out = prepare_image(_bytes(_photo((400, 200)), "JPEG", exif=exif), SMALL)
    assert (out.width, out.height) == (64, 128)
    assert (out.original_width, out.original_height) == (400, 200)
    assert out.actions[:2] == ["EXIF orientation applied", "scaled 200x400 → 64x128"]


def _animated_gif(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (50, 40), (i * 60, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_animated_gif_sends_first_frame() -> None:
    out = prepare_image(_animated_gif(), SMALL)
    assert "first frame of 3" in out.actions
    assert out.mime_type == "image/png"
    assert getattr(Image.open(io.BytesIO(out.data)), "n_frames", 1) == 1


def test_keep_animation_passes_gif_through() -> None:
    data = _animated_gif()
    out = prepare_image(data, SMALL, keep_animation=True)
    assert out.data == data
    assert out.mime_type == "image/gif"
    assert out.actions == ["animation kept (3 frames)"]


def test_keep_animation_too_large_falls_back_to_first_frame() -> None:
    images = [Image.new("RGB", (300, 100), (i * 60, 0, 0)) for i in range(2)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:])
    out = prepare_image(buffer.getvalue(), SMALL, keep_animation=True)
    assert out.actions[:2] == ["animation too large to keep", "first frame of 2"]
    assert (out.width, out.height) == (128, 43)


def test_transparency_keeps_png_even_for_a_photo() -> None:
    im = _photo((400, 300)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize((400, 300)))
    out = prepare_image(_bytes(im, "PNG"), SMALL)
    assert out.mime_type == "image/png"
    assert Image.open(io.BytesIO(out.data)).mode == "RGBA"
    assert out.resized


def test_palette_transparency_keeps_png() -> None:
    im = Image.new("P", (300, 200), 0)
    im.paste(1, (0, 0, 150, 200))
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    out = prepare_image(_bytes(im, "GIF", transparency=0), SMALL)
    assert out.mime_type == "image/png"
    assert Image.open(io.BytesIO(out.data)).getpixel((120, 10))[3] == 0


def test_screenshot_stays_png() -> None:
    out = prepare_image(_bytes(_screenshot((640, 360)), "PNG"), SMALL)
    assert out.mime_type == "image/png"
    assert (out.width, out.height) == (128, 72)
    assert out.actions == ["scaled 640x360 → 128x72", "encoded as PNG"]


def test_large_jpeg_photo_is_scaled_and_stays_jpeg() -> None:
    out = prepare_image(_bytes(_photo((1600, 1200)), "JPEG"), SMALL)
    assert out.mime_type == "image/jpeg"
    assert (out.width, out.height) == (128, 96)
    assert out.resized
    assert out.actions == ["scaled 1600x1200 → 128x96", "encoded as JPEG (quality 85)"]
    assert Image.open(io.BytesIO(out.data)).size == (128, 96)


def test_photo_saved_as_png_becomes_jpeg() -> None:
    out = prepare_image(_bytes(_photo((600, 400)), "PNG"), SMALL)
    assert out.mime_type == "image/jpeg"
    assert out.sent_bytes < out.original_bytes


def test_small_image_passes_through_byte_identical() -> None:
    data = _bytes(_photo((100, 80)), "JPEG")
    out = prepare_image(data, SMALL)
    assert out.data == data
    assert out.actions == []
    assert not out.resized
    assert out.sent_bytes == out.original_bytes == len(data)


def test_no_upscaling() -> None:
    out = prepare_image(_bytes(_screenshot((30, 20)), "PNG"), MediaConfig())
    assert (out.width, out.height) == (30, 20)


def test_bmp_is_reencoded() -> None:
    out = prepare_image(_bytes(_screenshot((60, 40)), "BMP"), SMALL)
    assert out.original_format == "BMP"
    assert out.mime_type == "image/png"
    assert out.actions == ["encoded as PNG"]


def test_data_url_round_trips() -> None:
    out = prepare_image(_bytes(_screenshot((30, 20)), "PNG"), SMALL)
    prefix = "data:image/png;base64,"
    assert out.as_data_url().startswith(prefix)
    assert base64.b64decode(out.as_data_url()[len(prefix):]) == out.data


def test_png_with_damaged_pixel_data_is_a_clear_error() -> None:
    err = _error(_png_header_only(40, 40), source="broken.png")
    assert err.code is ErrorCode.UNSUPPORTED_FORMAT
    assert "damaged or truncated PNG" in err.message


def test_cmyk_jpeg_is_scaled_to_rgb_jpeg() -> None:
    out = prepare_image(_bytes(_photo((400, 300)).convert("CMYK"), "JPEG"), SMALL)
    assert out.mime_type == "image/jpeg"
    assert Image.open(io.BytesIO(out.data)).mode == "RGB"


def test_png_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    out = prepare_image(_bytes(_screenshot((80, 40)), "PNG", exif=exif), SMALL)
    assert (out.width, out.height) == (40, 80)
    assert out.mime_type == "image/png"


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Gatewise Camera"  # Make
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 1.5)})  # GPS latitude
    return exif


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").tobytes()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_passed_through_images_lose_their_metadata_but_not_their_pixels(fmt: str) -> None:
    from PIL import ImageCms
    from PIL.PngImagePlugin import PngInfo

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    extra: dict[str, object] = {"exif": _camera_exif().tobytes(), "icc_profile": icc}
    if fmt == "JPEG":
        extra["comment"] = b"shot at home"
    if fmt == "PNG":
        text = PngInfo()
        text.add_text("Author", "someone")
        extra["pnginfo"] = text
    if fmt == "WEBP":
        extra["lossless"] = True
    original = _bytes(_screenshot((96, 64)), fmt, **extra)
    out = prepare_image(original, SMALL)
    assert out.mime_type == f"image/{fmt.lower()}" and out.actions[0].startswith("removed metadata: ")
    assert "EXIF" in out.actions[0] and out.sent_bytes < out.original_bytes
    assert _pixels(out.data) == _pixels(original)  # the picture itself is untouched
    with Image.open(io.BytesIO(out.data)) as sent:
        assert not sent.getexif() and "comment" not in sent.info and "Author" not in sent.info
        assert sent.info.get("icc_profile") == icc  # colour is kept
    assert b"Gatewise Camera" not in out.data


def _with_xmp(gif: bytes, xmp: bytes) -> bytes:
    """An XMP application extension put before the first frame's graphic control extension."""
    at = gif.index(b"\x21\xf9\x04")
    return gif[:at] + b"\x21\xff\x0bXMP DataXMP" + bytes([len(xmp)]) + xmp + b"\x00" + gif[at:]


def _frames(data: bytes) -> list[tuple[bytes, object]]:
    with Image.open(io.BytesIO(data)) as im:
        out = []
        for index in range(im.n_frames):
            im.seek(index)
            out.append((im.convert("RGBA").tobytes(), im.info.get("duration")))
        return out


@pytest.mark.parametrize("frames", [1, 3])
def test_a_gif_loses_its_comment_and_xmp_but_keeps_every_frame(frames: int) -> None:
    """GIF comments and XMP went to the provider unchanged (only JPEG, PNG and WebP were
    stripped); the extensions are cut out between the frames, which stay byte for byte."""
    images = [Image.new("P", (50, 40), i) for i in range(frames)]
    for image in images:
        image.putpalette([0, 0, 0, 200, 30, 30, 30, 200, 30] + [0] * 759)
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=[100, 200, 300][:frames],
                   loop=2, comment=b"GPS 51.5,-0.12 secret comment")
    original = _with_xmp(buffer.getvalue(), b"<x:xmpmeta>Author: someone</x:xmpmeta>")
    out = prepare_image(original, SMALL, keep_animation=True)
    assert out.mime_type == "image/gif" and out.actions[-1] == "removed metadata: comment, XMP"
    assert b"secret comment" not in out.data and b"xmpmeta" not in out.data
    assert out.sent_bytes < out.original_bytes
    assert _frames(out.data) == _frames(original) and len(_frames(out.data)) == frames
    if frames > 1:
        assert Image.open(io.BytesIO(out.data)).info["loop"] == 2 and b"NETSCAPE2.0" in out.data


def test_images_without_metadata_and_odd_files_are_left_alone() -> None:
    from gatewise.media.metadata import strip_metadata

    plain = _bytes(_screenshot((96, 64)), "PNG")
    assert prepare_image(plain, SMALL).data == plain
    jpeg = _bytes(_photo((64, 64)), "JPEG", exif=_camera_exif().tobytes())
    cut = jpeg[:2] + b"\xff\xe1\xff\xff" + jpeg[6:40]  # a segment claiming to run past the end
    assert strip_metadata(cut, "JPEG") == (cut, [])
    assert strip_metadata(b"GIF89a...", "GIF") == (b"GIF89a...", [])
