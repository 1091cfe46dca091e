"""The components read and write their Doc extensions in ``doc.user_data`` directly (faster than
through ``doc._``): what spaCy's ``doc._`` reads and writes must be the same values."""

from labeling.nlp import components


def test_what_the_components_write_is_what_doc_underscore_reads(lab):
    doc = lab.nlp("L4-5: Mild canal stenosis. Protusion.")
    assert doc._.radbot_low == "l4-5: mild canal stenosis. protrusion."
    for name in components._EXTENSIONS:
        assert getattr(doc._, name) is doc.user_data[components._extension_key(name)]
    assert doc._.radbot_result.levels[3].canal_stenosis == "mild"


def test_what_doc_underscore_writes_is_what_the_components_read(lab):
    # the findings and later steps, given their inputs through doc._ instead of the earlier steps
    doc = lab.nlp.make_doc("L4-5: some stenosis.")
    for _name, proc in lab.nlp.pipeline[:3]:
        doc = proc(doc)
    # (same length: the sentences found keep their offsets)
    doc._.radbot_low = doc._.radbot_low.replace("some", "mild")
    for _name, proc in lab.nlp.pipeline[3:]:
        doc = proc(doc)
    assert doc._.radbot_result.levels[3].canal_stenosis == "mild"
