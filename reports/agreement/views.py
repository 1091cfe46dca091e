"""The researchers' agreement dashboard and its CSV export. Thin: parse the GET form,
read the (cached) numbers and their (cached) charts, render."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from accounts import roles
from audit.services import record_access
from reports.agreement import charts
from reports.agreement.cache import (
    NLP_REFERENCE_LAG_S,
    cached_dashboard_data,
    cached_dashboard_page,
)
from reports.agreement.csv_export import csv_rows
from reports.agreement.queries import NLP, REFERENCES, default_reference, model_versions
from reports.agreement.summary import MAX_MODELS, DashboardData
from reports.stats import METRIC_LABELS


@dataclass(frozen=True)
class DashboardQuery:
    model_version_ids: tuple[int, ...]
    reference: str

    @classmethod
    def from_params(cls, params: QueryDict, *, available: list[int]) -> DashboardQuery:
        """Unknown or repeated model ids are dropped; no usable id means the newest version."""
        ids: list[int] = []
        for raw in params.getlist("model"):
            try:
                value = int(raw)
            except (TypeError, ValueError):
                continue
            if value in available and value not in ids:
                ids.append(value)
        if not ids and available:
            ids = [available[0]]
        reference = params.get("reference") or ""
        if reference not in REFERENCES:
            reference = default_reference()
        return cls(model_version_ids=tuple(ids[:MAX_MODELS]), reference=reference)

    def as_query(self, reference: str | None = None) -> str:
        pairs = [
            ("reference", reference or self.reference),
            *(("model", i) for i in self.model_version_ids),
        ]
        return urlencode(pairs)

    @property
    def as_nlp_query(self) -> str:
        return self.as_query(NLP)


def _page_parts(data: DashboardData) -> dict[str, object]:
    """Per-model columns and per-detector sections with their charts, the markup marked
    safe: it is built from escaped text in reports.stats.charts."""
    safe = mark_safe
    return {
        "metric_svgs": [
            (metric, METRIC_LABELS[metric], safe(svg))
            for metric, svg in charts.metric_svgs(data.models)
        ],
        "columns": [
            {
                "model": m,
                "canal_svg": safe(charts.canal_svg(m)),
                "curves": [
                    (stage, safe(loss), safe(acc)) for stage, loss, acc in charts.curve_svgs(m)
                ],
            }
            for m in data.models
        ],
        "level_sections": [
            {
                "key": key,
                "label": label,
                "charts": [(m.name, safe(svg)) for m, svg in zip(data.models, svgs, strict=True)],
                "rows": data.level_rows(key),
            }
            for key, label, svgs in charts.level_svgs(data.models)
        ],
        "agreement_svgs": [
            (name, safe(svg))
            for name, svg in charts.agreement_svgs(data.nlp_vs_gold, data.inter_annotator)
        ],
        "edits_svg": safe(charts.edits_svg(data.edits)),
    }


@require_GET
@permission_required(roles.VIEW_AGREEMENT, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    choices = model_versions()
    query = DashboardQuery.from_params(request.GET, available=[c.id for c in choices])
    # Without a model version the page only says how to make one.
    data, parts = (
        cached_dashboard_page(
            model_version_ids=query.model_version_ids, reference=query.reference, draw=_page_parts
        )
        if choices
        else (None, {})
    )
    selected = list(query.model_version_ids) + [None] * (MAX_MODELS - len(query.model_version_ids))
    return render(
        request,
        "reports/dashboard.html",
        {
            "choices": choices,
            "selected": selected,
            "query": query,
            "references": REFERENCES,
            "data": data,
            "csv_query": query.as_query(),
            "nlp_lag_minutes": round(NLP_REFERENCE_LAG_S / 60),
            **parts,
        },
    )


@require_GET
@permission_required(roles.VIEW_AGREEMENT, raise_exception=True)
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    choices = model_versions()
    query = DashboardQuery.from_params(request.GET, available=[c.id for c in choices])
    data = cached_dashboard_data(
        model_version_ids=query.model_version_ids, reference=query.reference
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv_rows(data))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    names = "_".join(slugify(m.name) for m in data.models) or "no-model"
    response["Content-Disposition"] = (
        f'attachment; filename="agreement-{query.reference}-{names}.csv"'
    )
    record_access(
        action="export",
        request=request,
        object_ref=f"agreement-{query.reference}.csv",
        detail={"models": list(query.model_version_ids), "reference": query.reference},
    )
    return response
