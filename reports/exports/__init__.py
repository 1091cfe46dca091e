"""Exports of a signed report: printable PDF, FHIR R4 DiagnosticReport bundle, DICOM SR.

``document``, ``codes``, ``pdf``, ``fhir`` and ``sr`` are pure: they take an
``ExportableReport`` and import nothing from Django, so each format can be built and
tested without a database. ``from_models`` (read), ``services`` (export + audit),
``views`` and ``urls`` are the Django side.
"""
