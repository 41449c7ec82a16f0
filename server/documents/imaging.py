"""Medical images: DICOM Part 10 parsed with pydicom, and the PNG previews (Pillow).

Synchronous CPU work: the service runs these functions in worker threads, a bounded number at
a time, never on the event loop.

Codecs: pixel data is decoded by pydicom's own handlers and Pillow, nothing optional: the
uncompressed transfer syntaxes (implicit and explicit VR, little and big endian), Deflated
Explicit VR Little Endian and RLE Lossless; JPEG Baseline (8-bit) through Pillow. Anything else
(JPEG Lossless, JPEG-LS, JPEG 2000, HTJ2K without their plugins) answers
``preview_unavailable`` (422): the file is kept and downloadable, only the preview is missing.
"""

from __future__ import annotations

import io
from datetime import date
from typing import IO, Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_modality_lut

from domain.documents import (
    ContentType,
    DicomInfo,
    MalformedDocument,
    PreviewUnavailable,
    Window,
    check_pixels,
)

PREVIEW_MAX_SIDE = 1024  # previews are scaled down to fit this square
Image.MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # Pillow refuses decompression bombs beyond this


def _study_date(value: Any) -> date | None:
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def read_dicom_info(source: IO[bytes], *, max_pixels: int) -> DicomInfo:
    """Parse the header (Part 10: preamble, ``DICM``, file meta) and describe the image;
    ``MalformedDocument`` for anything pydicom cannot read, ``ImageTooLarge`` beyond the cap."""
    try:
        ds = pydicom.dcmread(source, stop_before_pixels=True)
        info = DicomInfo(
            modality=str(ds.get("Modality", "") or "").strip() or None,
            study_date=_study_date(ds.get("StudyDate")),
            rows=_int_or_none(ds.get("Rows")),
            columns=_int_or_none(ds.get("Columns")),
            frames=_int_or_none(ds.get("NumberOfFrames")) or 1,
        )
        _ = ds.file_meta.TransferSyntaxUID
    except (InvalidDicomError, EOFError, AttributeError, KeyError, ValueError, TypeError) as exc:
        raise MalformedDocument(f"the DICOM file cannot be read: {type(exc).__name__}") from None
    except Exception as exc:  # pydicom raises many kinds on a damaged file
        raise MalformedDocument(f"the DICOM file cannot be read: {type(exc).__name__}") from None
    check_pixels(info, max_pixels=max_pixels)
    return info


def verify_image(source: IO[bytes]) -> tuple[int, int]:
    """Check that a JPEG, PNG or WebP decodes (Pillow's ``verify``); its width and height."""
    try:
        with Image.open(source) as image:
            size = image.size
            image.verify()
        return size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MalformedDocument(f"the image cannot be read: {type(exc).__name__}") from None
    except Image.DecompressionBombError:
        raise MalformedDocument("the image is too large to decode") from None


def _png(image: Image.Image) -> bytes:
    image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _window_of(ds: Any, pixels: NDArray[np.float64]) -> Window:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        c = center[0] if isinstance(center, pydicom.multival.MultiValue) else center
        w = width[0] if isinstance(width, pydicom.multival.MultiValue) else width
        try:
            if float(w) > 0:
                return Window(center=float(c), width=float(w))
        except (TypeError, ValueError):
            pass
    low, high = float(pixels.min()), float(pixels.max())
    return Window(center=(low + high) / 2, width=max(high - low, 1.0))


def apply_window(pixels: NDArray[np.float64], window: Window) -> NDArray[np.uint8]:
    """The linear VOI function of PS3.3 C.11.2.1.2.1, to 8-bit grey."""
    center, width = window.center, window.width
    if width <= 1:
        return np.where(pixels > center - 0.5, 255, 0).astype(np.uint8)
    scaled = ((pixels - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    return np.clip(scaled, 0, 255).astype(np.uint8)


def render_dicom(
    data: bytes, *, frame: int, window: Window | None, max_pixels: int
) -> tuple[bytes, int]:
    """The PNG of one frame and the number of frames."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except Exception as exc:
        raise MalformedDocument(f"the DICOM file cannot be read: {type(exc).__name__}") from None
    info = DicomInfo(
        modality=None,
        study_date=None,
        rows=_int_or_none(ds.get("Rows")),
        columns=_int_or_none(ds.get("Columns")),
        frames=_int_or_none(ds.get("NumberOfFrames")) or 1,
    )
    if info.rows is None or "PixelData" not in ds:
        raise PreviewUnavailable("the DICOM file holds no image")
    check_pixels(info, max_pixels=max_pixels)
    if not 0 <= frame < info.frames:
        raise PreviewUnavailable(f"frame {frame} is out of range (the study has {info.frames})")
    try:
        array = ds.pixel_array
    except Exception as exc:  # no codec for the transfer syntax, or damaged pixel data
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown")
        raise PreviewUnavailable(
            f"the server cannot decode this image's pixel data (transfer syntax {syntax}): "
            f"{type(exc).__name__}"
        ) from None
    if info.frames > 1:
        array = array[frame]
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if array.ndim == 3:  # colour (RGB, YBR already converted by pydicom)
        return _png(Image.fromarray(np.asarray(array, dtype=np.uint8), mode="RGB")), info.frames
    pixels = np.asarray(apply_modality_lut(array, ds), dtype=np.float64)
    grey = apply_window(pixels, window or _window_of(ds, pixels))
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return _png(Image.fromarray(grey, mode="L")), info.frames


def render_image(data: bytes) -> bytes:
    """A photo scaled down to fit :data:`PREVIEW_MAX_SIDE`, as PNG."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        return _png(converted)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PreviewUnavailable(f"the image cannot be decoded: {type(exc).__name__}") from None


def render_preview(
    content_type: ContentType,
    data: bytes,
    *,
    frame: int,
    window: Window | None,
    max_pixels: int,
) -> bytes:
    if content_type is ContentType.DICOM:
        return render_dicom(data, frame=frame, window=window, max_pixels=max_pixels)[0]
    if content_type.is_image:
        return render_image(data)
    raise PreviewUnavailable("a PDF has no image preview; open the document instead")
