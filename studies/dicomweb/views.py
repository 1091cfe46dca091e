"""DICOMweb resources (PS3.18): thin views. Media type choice, parameters and status codes
here; the work in query, selectors, attributes, metadata, retrieve, rendered and stow.

Authentication is the API's (``Authorization: Token <key>``, or the browser's session);
searching and retrieving need the capability to view studies, storing the one to upload
them. Reads of images and headers are recorded in the access log as the study pages and
the REST API record them; the ingest records each upload.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import capability
from audit.services import record_read
from studies.dicomweb import attributes, negotiation, retrieve, stow
from studies.dicomweb import selectors as dicomweb_selectors
from studies.dicomweb.links import Links
from studies.dicomweb.metadata import metadata_json
from studies.dicomweb.multipart import (
    BodyTooLarge,
    MultipartError,
    new_boundary,
    read_parts,
    write_parts,
)
from studies.dicomweb.negotiation import BadMediaType, NotAcceptable
from studies.dicomweb.query import MAX_RESULTS, Query, QueryError, parse_query
from studies.dicomweb.rendered import RenderParameterError, render, render_options
from studies.models import Instance
from studies.selectors import UndecodableImage


class _DicomWebNegotiation(DefaultContentNegotiation):
    """The views choose DICOMweb media types themselves (DRF's renderers know none of
    them); what DRF itself answers (401, 403) goes out as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _BodyLeftToView(BaseParser):
    """A STOW body is read by the view, part by part, never by DRF (a session's CSRF
    check asks DRF for the form data; this answers without reading a byte)."""

    media_type = "multipart/related"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def _error(status: int, detail: str) -> Response:
    return Response({"detail": detail}, status=status)


def _accept(request: Request) -> list[negotiation.MediaType]:
    # PS3.18 8.3.3.1: an "accept" query parameter stands for the Accept header.
    return negotiation.parse_accept(
        request.query_params.get("accept") or request.META.get("HTTP_ACCEPT")
    )


class DicomWebView(APIView):
    content_negotiation_class = _DicomWebNegotiation
    renderer_classes = [JSONRenderer]
    parser_classes = [_BodyLeftToView]
    permission_classes = [capability(roles.VIEW_STUDIES)]
    schema = None  # not in the REST API's OpenAPI schema: PS3.18 is its specification

    def links(self) -> Links:
        if settings.RADBOT_DICOMWEB_URL:
            # Behind a proxy, or for clients whose Host header drops the port
            # (dicomweb-client sends the bare host name).
            return Links(root=settings.RADBOT_DICOMWEB_URL)
        studies = self.request.build_absolute_uri(reverse("dicomweb:studies"))
        return Links(root=studies.removesuffix("/studies"))

    def handle_exception(self, exc):
        if isinstance(exc, NotAcceptable):
            return _error(406, str(exc))
        if isinstance(exc, BadMediaType | QueryError | RenderParameterError):
            return _error(400, str(exc))
        if isinstance(exc, UndecodableImage):
            return _error(422, f"This image cannot be decoded safely: {exc}.")
        if isinstance(exc, retrieve.FrameNotFound):
            return _error(404, str(exc))
        return super().handle_exception(exc)


# --- QIDO-RS ----------------------------------------------------------------------------


class _Search(DicomWebView):
    level = "study"

    def rows(self, query: Query, study_uid: str | None, series_uid: str | None) -> QuerySet:
        raise NotImplementedError

    def result(self, row: Any, query: Query, links: Links, scoped: bool) -> dict:
        raise NotImplementedError

    def search(self, request: Request, study_uid: str | None = None, series_uid: str | None = None):
        media = negotiation.choose_json(_accept(request))
        query = parse_query(request.query_params.lists(), self.level)
        if study_uid is not None:
            if not dicomweb_selectors.study_exists(study_uid):
                return _error(404, "No study with this StudyInstanceUID is stored.")
            record_read(action="view_study", request=request, study_uid=study_uid)
        rows = list(
            self.rows(query, study_uid, series_uid)[query.offset : query.offset + query.limit + 1]
        )
        more = len(rows) > query.limit
        links = self.links()
        body = [
            self.result(row, query, links, study_uid is not None) for row in rows[: query.limit]
        ]
        response = HttpResponse(json.dumps(body), content_type=media)
        warnings = []
        if query.ignored:
            warnings.append(
                "The following attributes are not supported for matching here: "
                + ", ".join(query.ignored)
            )
        if more and (query.requested_limit is None or query.requested_limit > MAX_RESULTS):
            warnings.append(
                f"At most {MAX_RESULTS} results per request: ask again with "
                f"offset={query.offset + query.limit} for more"
            )
        if warnings:
            response["Warning"] = ", ".join(f'299 radbot "{w}"' for w in warnings)
        return response


class SeriesSearch(_Search):
    """GET /series and /studies/{study}/series."""

    level = "series"

    def get(self, request: Request, study_uid: str | None = None):
        return self.search(request, study_uid)

    def rows(self, query, study_uid, series_uid):
        return dicomweb_selectors.search_series(query, study_uid=study_uid)

    def result(self, row, query, links, scoped):
        return attributes.series_result(row, query, links, with_study=not scoped)


class InstanceSearch(_Search):
    """GET /instances, /studies/{study}/instances, /studies/{study}/series/{series}/instances."""

    level = "instance"

    def get(self, request: Request, study_uid: str | None = None, series_uid: str | None = None):
        self.in_series = series_uid is not None
        return self.search(request, study_uid, series_uid)

    def rows(self, query, study_uid, series_uid):
        return dicomweb_selectors.search_instances(
            query, study_uid=study_uid, series_uid=series_uid
        )

    def result(self, row, query, links, scoped):
        return attributes.instance_result(
            row, query, links, with_series=not self.in_series, with_study=not scoped
        )


# --- STOW-RS ----------------------------------------------------------------------------


def _store(request: Request, links: Links, study_uid: str | None):
    negotiation.choose_json(_accept(request))
    try:
        content_type = negotiation.parse_media_type(request.META.get("CONTENT_TYPE") or "")
    except BadMediaType:
        content_type = negotiation.MediaType("")
    part_type = content_type.params.get("type", negotiation.DICOM)
    if content_type.type != negotiation.MULTIPART or part_type != negotiation.DICOM:
        return _error(415, 'Send the instances as multipart/related; type="application/dicom".')
    if not content_type.params.get("boundary"):
        return _error(400, "The Content-Type has no boundary parameter.")
    limit = settings.RADBOT_UPLOAD_MAX_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        return _error(413, f"The request is larger than the {limit >> 20} MiB limit.")
    if length.isdigit() and int(length) > 0:
        stream = request.stream
    elif request.META.get("wsgi.input_terminated"):
        # Chunked transfer coding: the server (gunicorn) ends wsgi.input at the body's end.
        stream = request.META["wsgi.input"]
    else:
        return _error(411, "Send a Content-Length (this server cannot read a chunked body).")
    try:
        parts = read_parts(
            stream,
            content_type.params["boundary"],
            max_bytes=limit,
            max_parts=settings.DATA_UPLOAD_MAX_NUMBER_FILES,
            spool=lambda: tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR),  # noqa: SIM115 - closed after the ingest
        )
    except BodyTooLarge as exc:
        return _error(413, f"{exc}.")
    except MultipartError as exc:
        return _error(400, f"The body is not a readable multipart/related message: {exc}.")
    if not parts:
        return _error(400, "The body holds no instance.")
    try:
        result = stow.store(
            parts=parts,
            user=request.user,
            links=links,
            study_uid=study_uid,
            default_type=part_type,
        )
    finally:
        for part in parts:
            part.file.close()
    return HttpResponse(
        json.dumps(result.body), status=result.status, content_type=negotiation.DICOM_JSON
    )


class StudiesResource(_Search):
    """GET /studies searches (QIDO-RS); POST /studies stores (STOW-RS)."""

    level = "study"

    def get_permissions(self):
        needed = roles.UPLOAD_STUDIES if self.request.method == "POST" else roles.VIEW_STUDIES
        return [capability(needed)()]

    def get(self, request: Request):
        return self.search(request)

    def post(self, request: Request):
        return _store(request, self.links(), None)

    def rows(self, query, study_uid, series_uid):
        return dicomweb_selectors.search_studies(query)

    def result(self, row, query, links, scoped):
        return attributes.study_result(row, query, links)


# --- WADO-RS ----------------------------------------------------------------------------


def _instances(study_uid: str, series_uid: str | None = None, sop_uid: str | None = None):
    return list(
        dicomweb_selectors.instances_to_retrieve(
            study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid
        )
    )


_NOT_STORED = "Nothing with these UIDs is stored."


def _retrieve(request: Request, study_uid: str, series_uid=None, sop_uid=None):
    wanted = negotiation.choose_dicom_syntaxes(_accept(request))
    instances = _instances(study_uid, series_uid, sop_uid)
    if not instances:
        return _error(404, _NOT_STORED)
    if not retrieve.can_serve(instances, wanted):
        return _error(
            406,
            "Instances are sent as stored or as Explicit VR Little Endian "
            f"({negotiation.EXPLICIT_VR_LITTLE_ENDIAN}); "
            "ask for one of those (or transfer-syntax=*).",
        )
    record_read(action="view_images", request=request, study_uid=study_uid)
    boundary = new_boundary()
    return StreamingHttpResponse(
        write_parts(retrieve.instance_parts(instances, wanted), boundary),
        content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
    )


def _metadata(request: Request, links: Links, study_uid: str, series_uid=None, sop_uid=None):
    media = negotiation.choose_json(_accept(request))
    instances = _instances(study_uid, series_uid, sop_uid)
    if not instances:
        return _error(404, _NOT_STORED)
    record_read(action="view_study", request=request, study_uid=study_uid)
    return StreamingHttpResponse(metadata_json(instances, links), content_type=media)


class StudyResource(DicomWebView):
    """GET /studies/{study} retrieves the study; POST /studies/{study} stores into it."""

    def get_permissions(self):
        needed = roles.UPLOAD_STUDIES if self.request.method == "POST" else roles.VIEW_STUDIES
        return [capability(needed)()]

    def get(self, request: Request, study_uid: str):
        return _retrieve(request, study_uid)

    def post(self, request: Request, study_uid: str):
        return _store(request, self.links(), study_uid)


class SeriesRetrieve(DicomWebView):
    def get(self, request: Request, study_uid: str, series_uid: str):
        return _retrieve(request, study_uid, series_uid)


class InstanceRetrieve(DicomWebView):
    def get(self, request: Request, study_uid: str, series_uid: str, sop_uid: str):
        return _retrieve(request, study_uid, series_uid, sop_uid)


class MetadataRetrieve(DicomWebView):
    """GET .../metadata of a study, a series or an instance."""

    def get(self, request: Request, study_uid: str, series_uid=None, sop_uid=None):
        return _metadata(request, self.links(), study_uid, series_uid, sop_uid)


def _one_instance(study_uid: str, series_uid: str, sop_uid: str) -> Instance | None:
    instances = _instances(study_uid, series_uid, sop_uid)
    return instances[0] if instances else None


class FramesRetrieve(DicomWebView):
    """GET .../instances/{instance}/frames/{list}: uncompressed frames."""

    def get(self, request: Request, study_uid: str, series_uid: str, sop_uid: str, frames):
        syntax = negotiation.choose_frames(_accept(request))
        instance = _one_instance(study_uid, series_uid, sop_uid)
        if instance is None:
            return _error(404, _NOT_STORED)
        data = retrieve.frames(instance, frames)
        record_read(action="view_images", request=request, study_uid=study_uid)
        boundary = new_boundary()
        part_type = f"{negotiation.OCTET_STREAM}; transfer-syntax={syntax}"
        return HttpResponse(
            b"".join(write_parts(((part_type, [frame]) for frame in data), boundary)),
            content_type=f'multipart/related; type="{negotiation.OCTET_STREAM}"; '
            f"boundary={boundary}",
        )


class RenderedRetrieve(DicomWebView):
    """GET .../instances/{instance}/rendered and .../frames/{frame}/rendered."""

    def get(self, request: Request, study_uid: str, series_uid: str, sop_uid: str, frames=None):
        media = negotiation.choose_rendered(_accept(request))
        options = render_options(request.query_params)
        if frames is not None and len(frames) != 1:
            return _error(400, "Rendered frames are sent one at a time: name one frame.")
        instance = _one_instance(study_uid, series_uid, sop_uid)
        if instance is None:
            return _error(404, _NOT_STORED)
        image = render(instance, media_type=media, options=options, frame=(frames or [1])[0])
        record_read(action="view_images", request=request, study_uid=study_uid)
        return HttpResponse(image, content_type=media)
