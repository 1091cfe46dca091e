"""The labeller's token-less documents (components.text_doc) give the labels of tokenized ones."""

from spacy.tokens import Doc

from labeling.nlp import components
from tests.nlp.conftest import found

REPORT = (
    "FINDINGS:\nL3-4: Mild disc bulge. The neural foramina are patent.\n"
    "L4-5: Left paracentral protrusion with moderate canal stenosis and severe left "
    "foraminal narrowing.  Mild facet arthropathy.\nIMPRESSION: Moderate stenosis at L4-5."
)


def _labels(doc):
    res = components.extension_data(doc)[components.RESULT]
    return res.levels, res.evidence


def test_a_text_doc_has_no_tokens_and_the_labels_of_the_tokenized_doc(lab):
    doc = lab.nlp(components.text_doc(lab.nlp.vocab, REPORT))
    assert len(doc) == 0
    assert components.doc_text(doc) == REPORT
    assert _labels(doc) == _labels(lab.nlp(REPORT))


def test_the_labeller_labels_through_text_docs(lab):
    one = lab.label(REPORT, report_id="R1")
    (many,) = lab.label_many([("R1", REPORT)])
    assert (
        found(one)
        == found(many)
        == {
            "L3-L4": "d=bulge",
            "L4-L5": "d=herniation c=moderate lf=severe",
        }
    )
    assert one.evidence == many.evidence


def test_an_empty_doc_that_was_not_made_as_a_text_doc_keeps_its_own_text(lab):
    doc = Doc(lab.nlp.vocab)
    doc.user_data[components._TEXT_KEY] = "L4-5: severe canal stenosis."  # (no text_doc mark)
    assert components.doc_text(doc) == ""
