"""Small valid sample files made by the libraries themselves (a PDF by Pillow, a DICOM study by
pydicom): the demo clinic seeds them, the tests upload them. No binary files in the repository.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def sample_pdf(text: str = "Diagnosis") -> bytes:
    """A one-page PDF with ``text`` on it (ASCII)."""
    page = Image.new("RGB", (595, 842), "white")
    ImageDraw.Draw(page).text((60, 60), text, fill="black")
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=72.0)
    return out.getvalue()


def sample_png(width: int = 64, height: int = 48) -> bytes:
    image = Image.new("RGB", (width, height), (200, 80, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sample_dicom(
    *,
    rows: int = 64,
    columns: int = 64,
    frames: int = 1,
    modality: str = "CT",
    study_date: date = date(2026, 11, 2),
) -> bytes:
    """A CT study (Part 10, explicit VR little endian, 16-bit) of a bright disc on a dark field,
    one frame per slice, with a soft-tissue display window."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.StudyDate = study_date.strftime("%Y%m%d")
    ds.PatientName = "Demo^Patient"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    if frames > 1:
        ds.NumberOfFrames = frames
    yy, xx = np.mgrid[0:rows, 0:columns]
    slices = []
    for f in range(frames):
        radius = min(rows, columns) * (0.2 + 0.2 * f / max(frames, 1))
        disc = (yy - rows / 2) ** 2 + (xx - columns / 2) ** 2 < radius**2
        slices.append(np.where(disc, 1024 + 60, 1024 - 100).astype(np.int16))
    pixels = np.stack(slices) if frames > 1 else slices[0]
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
