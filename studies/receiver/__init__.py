"""Receiving images over DICOM networking (issue #14): ``manage.py dicom_listener``.

Modules: ae (the Application Entity: who may associate, what it accepts, the C-ECHO and
C-STORE handlers), statuses (the failure status and reason of a refused image), spool (the
received files on disk, durable before they are acknowledged), listener (the server and
the loop that stores complete studies, run together). The writes are in
``studies.services.receiving``; storing goes through ``studies.services.ingest`` as uploads do.
"""
