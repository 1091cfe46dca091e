"""WADO-RS metadata: each stored instance's header as DICOM JSON (PS3.18 F.2).

The header is read from the stored (de-identified) file without its pixels and converted
with pydicom's ``Dataset.to_json_dict``; the archive's cleaned study and series
descriptions are put back (de-identification removes them from the files), and Pixel Data
is given as a BulkDataURI: the instance's frames resource, which answers it uncompressed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator

import pydicom
from pydicom.uid import UID

from studies.dicom.reader import quiet_validation
from studies.dicomweb import attributes
from studies.dicomweb.links import Links
from studies.dicomweb.query import Query
from studies.models import Instance
from studies.storage import media_path

logger = logging.getLogger(__name__)

# Binary values other than Pixel Data (few survive de-identification) go inline; none is
# large enough to deserve a bulk data resource of its own.
_INLINE_ANY_SIZE = 1 << 30


def instance_metadata(instance: Instance, links: Links) -> attributes.JsonDataset:
    """The header of one stored instance (``instance.series.study`` loaded)."""
    with quiet_validation():  # values are converted as they are read, in to_json_dict
        ds = pydicom.dcmread(media_path(instance.file), stop_before_pixels=True)
        body = ds.to_json_dict(bulk_data_threshold=_INLINE_ANY_SIZE, suppress_invalid_tags=True)
        syntax = UID(ds.file_meta.get("TransferSyntaxUID", ""))
        wide = int(ds.get("BitsAllocated") or 16) > 8
        frames = int(ds.get("NumberOfFrames") or 1)
    series = instance.series
    attributes.archive_descriptions(body, series)
    body["7FE00010"] = {
        "vr": "OW" if wide and not syntax.is_compressed else "OB",
        "BulkDataURI": links.frames(
            series.study.study_instance_uid,
            series.series_instance_uid,
            instance.sop_instance_uid,
            frames,
        ),
    }
    return body


def _fallback(instance: Instance, links: Links) -> attributes.JsonDataset:
    """What the archive's rows say of an instance whose file cannot be read now."""
    return attributes.instance_result(
        instance, Query(level="instance"), links, with_series=True, with_study=True
    )


def metadata_json(instances: Iterable[Instance], links: Links) -> Iterator[bytes]:
    """A JSON array of the instances' headers, one instance at a time."""
    yield b"["
    for number, instance in enumerate(instances):
        try:
            body = instance_metadata(instance, links)
        except Exception:  # one unreadable file must not cut the answer short
            logger.exception("metadata of stored instance %s could not be read", instance.pk)
            body = _fallback(instance, links)
        yield (b"," if number else b"") + json.dumps(body, separators=(",", ":")).encode()
    yield b"]"
