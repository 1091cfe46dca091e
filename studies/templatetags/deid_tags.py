"""Template filters for de-identified values."""

from django import template

from studies.dicom.deid import age_label

register = template.Library()


@register.filter(name="age_label")
def age_label_filter(years: int | None) -> str:
    """Study.age_years as shown: "90+" for the grouped oldest ages, "?" when unknown."""
    return age_label(years) or "?"
