"""A report flattened to one line (an HL7 or CSV export): its FINDINGS header runs on after
the clinical sentences. Before, only an inline IMPRESSION header was seen, so the findings
stayed in the INDICATION section and counted for nothing."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "INDICATION: low back pain radiating to left leg. TECHNIQUE: Sagittal T1, T2. "
            "FINDINGS: L4-5: Broad disc bulge with mild canal stenosis.",
            {"L4-L5": "d=bulge c=mild"},
        ),
        (
            "History: prior MRI showed severe stenosis at L3-4. Findings: L3-4: Moderate canal "
            "stenosis.",
            {"L3-L4": "c=moderate"},
        ),
        (
            "CLINICAL HISTORY: Back pain. FINDINGS: L3-4: Moderate canal stenosis. "
            "IMPRESSION: Moderate stenosis at L3-4.",
            {"L3-L4": "c=moderate"},
        ),
        # near miss: the clinical sentence before the header still counts for nothing
        (
            "HISTORY: known severe stenosis at L3-4. FINDINGS: L4-5: Mild bulge.",
            {"L4-L5": "d=bulge"},
        ),
    ],
)
def test_a_findings_header_run_into_the_text_opens_the_findings(lab, text, expected):
    assert found(lab.label(text)) == expected
