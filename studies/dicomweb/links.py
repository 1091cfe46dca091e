"""The URLs DICOMweb answers carry (RetrieveURL, BulkDataURI), from the service root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Links:
    root: str  # absolute, without a trailing slash: "https://host/dicomweb"

    def study(self, study_uid: str) -> str:
        return f"{self.root}/studies/{study_uid}"

    def series(self, study_uid: str, series_uid: str) -> str:
        return f"{self.study(study_uid)}/series/{series_uid}"

    def instance(self, study_uid: str, series_uid: str, sop_uid: str) -> str:
        return f"{self.series(study_uid, series_uid)}/instances/{sop_uid}"

    def frames(self, study_uid: str, series_uid: str, sop_uid: str, count: int) -> str:
        numbers = ",".join(str(n) for n in range(1, max(count, 1) + 1))
        return f"{self.instance(study_uid, series_uid, sop_uid)}/frames/{numbers}"
