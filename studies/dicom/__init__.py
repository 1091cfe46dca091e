"""Pure-Python DICOM handling for ingest: no Django imports here.

Modules: errors (IngestError/ErrorCode), reader (read_instance), geometry (plane,
weighting, series checks), deid (PS3.15 de-identification), archive (safe upload
expansion). Import from the submodules; this package re-exports nothing so that
importing ``studies.dicom.errors`` stays cheap (no pydicom import).
"""
