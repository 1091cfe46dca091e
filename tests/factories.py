"""Test data factories (factory_boy) and small helpers."""

from __future__ import annotations

import hashlib
import itertools

import factory

from accounts.services import create_user
from spine.labels import LEVELS
from studies.models import DiscLevel, Patient, RadiologistReport, Study

PASSWORD = "a-long-test-password-1"
_counter = itertools.count()


def make_user(role: str, username: str | None = None):
    return create_user(username=username or f"{role}{next(_counter)}", password=PASSWORD, role=role)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    pseudonym = factory.Sequence(lambda n: f"P-test{n:06d}")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    study_instance_uid = factory.Sequence(lambda n: f"1.2.826.0.1.3680043.10.999.{n}")
    accession = factory.Sequence(lambda n: f"ACC{n:06d}")
    site = "SITE-A"
    age_years = 50
    sex = "F"

    @factory.post_generation
    def levels(self, create, extracted, **kwargs):
        if create:
            DiscLevel.objects.bulk_create([DiscLevel(study=self, level=lv) for lv in LEVELS])


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RadiologistReport

    study = factory.SubFactory(StudyFactory)
    text = "FINDINGS: L4-5: mild disc bulge. IMPRESSION: mild degenerative change."
    text_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.text.encode()).hexdigest())
    source = "import"
