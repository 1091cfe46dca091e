"""Sections that apps above studies add to the study page, without studies importing them.

The study page belongs to studies, but parts of it come from apps that depend on studies:
labeling (the labels read from the report, and their evidence highlighted in its text) and
inference (the AI panel). Each app registers a panel in its ``AppConfig.ready``; the page
merges the panels' context into its own and includes their templates in order. Without a
panel the page still works: the report shows as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from studies.models import RadiologistReport, Study

PanelContext = Callable[[Study, RadiologistReport | None], Mapping[str, Any]]


@dataclass(frozen=True)
class StudyPanel:
    name: str
    order: int  # lower first
    context: PanelContext
    template: str = ""  # included below the viewer and the report; "" adds context only


_PANELS: dict[str, StudyPanel] = {}


def register(panel: StudyPanel) -> None:
    """Add (or replace, by name: ``ready`` may run more than once) a panel."""
    _PANELS[panel.name] = panel


def panels() -> list[StudyPanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))


def panels_context(study: Study, report: RadiologistReport | None) -> dict[str, Any]:
    """Every panel's context, merged in order, and the templates to include."""
    context: dict[str, Any] = {}
    templates = []
    for panel in panels():
        context.update(panel.context(study, report))
        if panel.template:
            templates.append(panel.template)
    return {**context, "panel_templates": templates}
