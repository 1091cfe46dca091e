"""Curation pages: the annotator's queue, adjudication, progress and the gold export.

Thin views: parsing and status codes here, reads in the package's other modules, writes
in ``services``. The queue item is a partial that htmx swaps in place; save-and-next
is one POST that answers with the next item (or 409 with the current state).
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import roles
from audit.services import record_access, record_read
from labeling.curation.adjudication import adjudication_item
from labeling.curation.gold_disagreements import labeller_disagreements, regression_case
from labeling.curation.item import (
    curation_item,
    last_saved_report_id,
    newest_decisions,
    newest_own_decisions,
)
from labeling.curation.leases import ADJUDICATE, lease_seconds
from labeling.curation.progress import progress
from labeling.curation.queue import FINDINGS, ORDER_NAMES, ORDERS, QueueFilters, overlap_percent
from labeling.curation.services import (
    CurationConflict,
    claim_next_adjudication,
    claim_next_report,
    release_report,
    save_held_decisions,
)
from labeling.curation.values import field_choices
from labeling.models import Annotation
from labeling.regression_cases import filename
from labeling.selectors import current_version_name, gold_rows
from spine.labels import FIELDS, LEVELS
from studies.models import RadiologistReport

SKIP_KEY = "curation_skipped"
ADJ_SKIP_KEY = "adjudication_skipped"
MAX_SKIPPED = 500
# The optimistic token of each report this session was shown, per mode: a save is checked
# against what the server showed, not only against what the client sends back.
SHOWN_KEY = "curation_shown"
MAX_SHOWN = 50


def _bad_request(message: str) -> HttpResponse:
    # Plain text: the message may echo a posted value, which must never render as HTML.
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _parse_value(name: str, raw: str):
    if name == "uncertain":
        if raw not in {"true", "false"}:
            raise ValueError(f"uncertain={raw!r} is not true or false")
        return raw == "true"
    return raw


def parse_decisions(data) -> dict[str, dict]:
    decisions: dict[str, dict] = {}
    for level in LEVELS:
        present = [name for name in FIELDS if f"{level}__{name}" in data]
        if not present:
            continue
        if len(present) != len(FIELDS):
            raise ValueError(f"{level}: every field is needed")
        decisions[level] = {name: _parse_value(name, data[f"{level}__{name}"]) for name in FIELDS}
    return decisions


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _skipped(request: HttpRequest, key: str) -> list[int]:
    return list(request.session.get(key, []))


def _skip(request: HttpRequest, key: str, report_id: int) -> None:
    skipped = _skipped(request, key)
    if report_id not in skipped:
        request.session[key] = ([*skipped, report_id])[-MAX_SKIPPED:]


def _remember_shown(request: HttpRequest, mode: str, item) -> None:
    shown = dict(request.session.get(SHOWN_KEY, {}))
    mine = dict(shown.get(mode, {}))
    mine.pop(str(item.report.pk), None)
    mine[str(item.report.pk)] = item.token
    shown[mode] = dict(list(mine.items())[-MAX_SHOWN:])
    request.session[SHOWN_KEY] = shown


def _shown_token(request: HttpRequest, mode: str, report_id: int) -> int | None:
    return request.session.get(SHOWN_KEY, {}).get(mode, {}).get(str(report_id))


def _context(
    request,
    *,
    mode: str,
    item,
    filters=None,
    conflict: str = "",
    remaining: int | None = None,
    held: int = 0,
):
    if item is not None:
        _remember_shown(request, mode, item)
        # The item shows the radiologist's report text: a read of the study.
        record_read(
            action="view_study", request=request, study_uid=item.report.study.study_instance_uid
        )
    return {
        "mode": mode,
        "item": item,
        "filters": filters or QueueFilters(),
        "conflict": conflict,
        "remaining": remaining,
        "choices": field_choices(),
        "held_by_others": held,
        "lease_minutes": max(1, round(lease_seconds() / 60)),
    }


def _next_item_context(request: HttpRequest, filters: QueueFilters) -> dict:
    """The next report nobody else has open, held for this annotator."""
    nxt = claim_next_report(user=request.user, filters=filters, skip=_skipped(request, SKIP_KEY))
    item = curation_item(report_id=nxt.report_id) if nxt.report_id else None
    return _context(request, mode="curate", item=item, filters=filters, held=nxt.held_by_others)


def _next_item_response(request: HttpRequest, filters: QueueFilters) -> HttpResponse:
    return render(request, "labeling/_curation_item.html", _next_item_context(request, filters))


def _restarted(
    request: HttpRequest, key: str, url_name: str, params: dict[str, str] | None = None
) -> HttpResponse:
    """Bring back this session's skipped reports, then show the page again (POST, redirect, GET)."""
    request.session[key] = []
    query = urlencode(params or {})
    return HttpResponseRedirect(reverse(url_name) + (f"?{query}" if query else ""), status=303)


@require_http_methods(["GET", "POST"])
@permission_required(roles.ANNOTATE, raise_exception=True)
def curate_page(request: HttpRequest) -> HttpResponse:
    """The queue page (GET). A POST with `restart` brings back the reports skipped in this session."""
    if request.method == "POST":
        filters = QueueFilters.from_params(request.POST)
        return _restarted(request, SKIP_KEY, "labeling:curate", filters.as_params())
    filters = QueueFilters.from_params(request.GET)
    extra = {
        "levels": LEVELS,
        "findings": list(FINDINGS),
        "orders": [(order, ORDER_NAMES[order]) for order in ORDERS],
        "overlap_percent": overlap_percent(),
    }
    return render(
        request, "labeling/curate.html", {**_next_item_context(request, filters), **extra}
    )


@require_http_methods(["GET", "POST"])
@permission_required(roles.ANNOTATE, raise_exception=True)
def curate_next(request: HttpRequest) -> HttpResponse:
    """The next report in the queue. A POST with `skip=<report id>` puts that one aside for
    this session (and gives it back to colleagues); a GET never skips."""
    params = request.POST if request.method == "POST" else request.GET
    if request.method == "POST" and "skip" in request.POST:
        _skip(request, SKIP_KEY, _int(request.POST["skip"]))
        release_report(user=request.user, report_id=_int(request.POST["skip"]))
    return _next_item_response(request, QueueFilters.from_params(params))


@require_POST
@permission_required(roles.ANNOTATE, raise_exception=True)
def curate_save(request: HttpRequest) -> HttpResponse:
    """Save-and-next in one request."""
    filters = QueueFilters.from_params(request.POST)
    report_id = _int(request.POST.get("report"))
    try:
        decisions = parse_decisions(request.POST)
        save_held_decisions(
            author=request.user,
            report_id=report_id,
            token=_int(request.POST.get("token")),
            shown_token=_shown_token(request, "curate", report_id),
            decisions=decisions,
            seconds_spent=_float(request.POST.get("seconds_spent")),
        )
    except CurationConflict as conflict:
        if conflict.show_report:
            item = curation_item(report_id=report_id, values=newest_decisions(report_id=report_id))
            context = _context(
                request, mode="curate", item=item, filters=filters, conflict=conflict.message
            )
        else:
            context = {**_next_item_context(request, filters), "conflict": conflict.message}
        return render(request, "labeling/_curation_item.html", context, status=409)
    except ValueError as error:
        return _bad_request(str(error))
    except RadiologistReport.DoesNotExist:
        return _bad_request("no such report")
    return _next_item_response(request, filters)


@require_POST
@permission_required(roles.ANNOTATE, raise_exception=True)
def curate_undo(request: HttpRequest) -> HttpResponse:
    """Reopen this annotator's last saved report with their decision, to correct it.

    Nothing is deleted: saving again adds newer rows, which supersede the old ones.
    """
    filters = QueueFilters.from_params(request.POST)
    report_id = last_saved_report_id(user=request.user)
    if report_id is None:
        return _next_item_response(request, filters)
    item = curation_item(
        report_id=report_id,
        values=newest_own_decisions(user=request.user, report_id=report_id),
        with_disagreements=True,
    )
    return render(
        request,
        "labeling/_curation_item.html",
        _context(request, mode="curate", item=item, filters=filters),
    )


def _adjudication_response(
    request: HttpRequest, *, template: str, status: int = 200, conflict: str = "", report_id=None
):
    held = 0
    if report_id is None:
        nxt = claim_next_adjudication(user=request.user, skip=_skipped(request, ADJ_SKIP_KEY))
        report_id, remaining, held = nxt.report_id, nxt.waiting, nxt.held_by_others
    else:
        remaining = None
    item = adjudication_item(report_id=report_id) if report_id else None
    context = _context(
        request, mode="adjudicate", item=item, conflict=conflict, remaining=remaining, held=held
    )
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(roles.ADJUDICATE, raise_exception=True)
def adjudicate_page(request: HttpRequest) -> HttpResponse:
    """The adjudication queue (GET). A POST with `skip=<report id>` puts that report aside
    for this session and answers with the next one; a POST with `restart` brings back
    the skipped ones."""
    if request.method == "POST":
        if request.POST.get("restart"):
            return _restarted(request, ADJ_SKIP_KEY, "labeling:adjudicate")
        if "skip" in request.POST:
            _skip(request, ADJ_SKIP_KEY, _int(request.POST["skip"]))
            release_report(
                user=request.user, report_id=_int(request.POST["skip"]), queue=ADJUDICATE
            )
        if not request.htmx:
            return HttpResponseRedirect(reverse("labeling:adjudicate"), status=303)
    template = "labeling/_curation_item.html" if request.htmx else "labeling/adjudicate.html"
    return _adjudication_response(request, template=template)


@require_POST
@permission_required(roles.ADJUDICATE, raise_exception=True)
def adjudicate_save(request: HttpRequest) -> HttpResponse:
    report_id = _int(request.POST.get("report"))
    try:
        save_held_decisions(
            author=request.user,
            report_id=report_id,
            token=_int(request.POST.get("token")),
            shown_token=_shown_token(request, "adjudicate", report_id),
            decisions=parse_decisions(request.POST),
            seconds_spent=_float(request.POST.get("seconds_spent")),
            kind=Annotation.Kind.ADJUDICATION,
        )
    except CurationConflict as conflict:
        # A report that no longer waits for adjudication is not shown again: the next one is.
        return _adjudication_response(
            request,
            template="labeling/_curation_item.html",
            status=409,
            conflict=conflict.message,
            report_id=report_id if conflict.show_report else None,
        )
    except ValueError as error:
        return _bad_request(str(error))
    except RadiologistReport.DoesNotExist:
        return _bad_request("no such report")
    return _adjudication_response(request, template="labeling/_curation_item.html")


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def progress_page(request: HttpRequest) -> HttpResponse:
    return render(request, "labeling/progress.html", {"progress": progress(), "fields": FIELDS})


EXPORT_COLUMNS = ["report_id", "level", *FIELDS, "canal_class"]


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def export_gold(request: HttpRequest, fmt: str) -> HttpResponse:
    """Gold labels in the guide's exchange format (JSON Lines) or as CSV."""
    if fmt not in {"jsonl", "csv"}:
        raise Http404("export as .jsonl or .csv")
    rows = gold_rows()
    if fmt == "jsonl":
        body = "".join(json.dumps(row) + "\n" for row in rows)
        response = HttpResponse(body, content_type="application/x-ndjson; charset=utf-8")
    else:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "uncertain": "true" if row["uncertain"] else "false"})
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="gold-labels.{fmt}"'
    # Every export is recorded (not once a day): gold labels leave the system in bulk.
    record_access(
        action="export", request=request, object_ref=f"gold.{fmt}", detail={"rows": len(rows)}
    )
    return response


MAX_DISAGREEMENTS = 200


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def disagreements_page(request: HttpRequest) -> HttpResponse:
    """Gold levels where the current labeller disagrees, each exportable as a regression case."""
    level = request.GET.get("level") if request.GET.get("level") in LEVELS else ""
    field = request.GET.get("field") if request.GET.get("field") in FIELDS else ""
    found = labeller_disagreements(level=level, field_name=field, limit=MAX_DISAGREEMENTS + 1)
    context = {
        "disagreements": found[:MAX_DISAGREEMENTS],
        "more": len(found) > MAX_DISAGREEMENTS,
        "version": current_version_name(),
        "levels": LEVELS,
        "fields": FIELDS,
        "level": level,
        "field": field,
    }
    return render(request, "labeling/disagreements.html", context)


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def export_regression_case(
    request: HttpRequest, report_id: int, level: str, field: str
) -> HttpResponse:
    """One disagreement as a regression-case JSON file (404 where the labeller agrees)."""

    case = regression_case(
        report_id=report_id, level=level, field_name=field, exported_by=request.user.username
    )
    if case is None:
        raise Http404("the labeller agrees with the gold label here, or there is no gold label")
    response = HttpResponse(
        json.dumps(case, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename(case)}"'
    # Report text leaves the system: recorded like every export.
    record_access(
        action="export",
        request=request,
        object_ref=f"regression-case.{report_id}.{level}.{field}",
        detail={"excerpt": case["text_is_excerpt"]},
    )
    return response
