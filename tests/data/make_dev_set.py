"""Writes dev_reports.jsonl / dev_gold.jsonl from the hand-written reports below.

Gold is written by hand from the labelling guide (v1.1), not from labeller
output. Compact gold: per level a string of field=value tokens; fields not
named are "none"; "unc" sets uncertain true. Levels not listed are all none.
Aliases: d=disc, c=canal_stenosis, lf/rf=left/right_foraminal,
ls/rs=left/right_subarticular.
"""

import json
from pathlib import Path

from spine.labels import LEVELS, LevelLabels

ALIAS = {
    "d": "disc",
    "c": "canal_stenosis",
    "lf": "left_foraminal",
    "rf": "right_foraminal",
    "ls": "left_subarticular",
    "rs": "right_subarticular",
}

R = []


def rep(rid, text, **gold):
    R.append((rid, text.strip("\n"), gold))


rep(
    "D01",
    """
EXAM: MRI lumbar spine without contrast.
HISTORY: 54-year-old with low back pain.
FINDINGS:
Alignment is normal. Conus terminates at L1.
L1-L2: There is a 1-mm midline disc bulge. There is no central canal narrowing.
L2-L3: Facet arthropathy and ligamentum flavum thickening cause mild spinal canal stenosis.
L3-L4: Moderate central canal narrowing. 2-mm right foraminal disc protrusion with abutment of the exiting right L3 nerve root and mild narrowing of the right neural foramen.
L4-L5: Broad-based posterior disc herniation indenting the thecal sac and causing mild narrowing of bilateral neural foramina.
L5-S1: 1-mm midline disc bulge with mild effacement of the anterior thecal sac. No central canal narrowing.
IMPRESSION:
Multilevel degenerative disc disease, worst at L3-L4 and L4-L5.
""",
    L1_L2="d=bulge",
    L2_L3="c=mild",
    L3_L4="d=herniation c=moderate rf=mild",
    L4_L5="d=herniation c=unspecified lf=mild rf=mild",
    L5_S1="d=bulge",
)

rep(
    "D02",
    """
FINDINGS: L4-5: Possible small left paracentral protrusion. The canal and foramina are patent.
The remaining levels are normal.
""",
    L4_L5="unc",
)

rep(
    "D03",
    """
MRI LUMBAR SPINE

CLINICAL HISTORY: Right leg pain. Prior L4-5 microdiscectomy 2019.

COMPARISON: None.

FINDINGS:
There are five lumbar-type vertebral bodies. Vertebral body heights and alignment are maintained. Marrow signal is normal. The conus medullaris ends at the L1 level.

T12-L1: Small disc bulge without stenosis.
L1-2 and L2-3: No disc herniation, canal or foraminal stenosis.
L3-4: Mild disc bulge and facet hypertrophy. Mild narrowing of the left neural foramen. Central canal is patent.
L4-5: Postsurgical changes of right hemilaminectomy. Recurrent right paracentral disc extrusion extends inferiorly and compresses the traversing right L5 nerve root in the lateral recess. Moderate central canal stenosis. Foramina are patent.
L5-S1: Disc desiccation with loss of disc height. Broad-based disc bulge with bilateral facet arthropathy results in moderate to severe bilateral neural foraminal narrowing. No spinal canal stenosis.

IMPRESSION:
1. Recurrent right paracentral disc extrusion at L4-5 compressing the traversing right L5 nerve root, with moderate canal stenosis.
2. Moderate to severe bilateral foraminal stenosis at L5-S1.
""",
    L3_L4="d=bulge lf=mild",
    L4_L5="d=herniation c=moderate rs=unspecified",
    L5_S1="d=bulge lf=severe rf=severe",
)

rep(
    "D04",
    """
Findings: The lumbar lordosis is preserved. There is mild disc desiccation at L3/4, L4/5 and L5/S1. At L4/5 there is a broad based disc bulge which mildly narrows the spinal canal and the lateral recesses bilaterally. At L5/S1 there is a small left paracentral disc protrusion which contacts the descending left S1 nerve root. The exit foramina are clear at all levels. No other abnormality.

Conclusion: L5/S1 left paracentral disc protrusion contacting the left S1 nerve root. L4/5 mild canal stenosis.
""",
    L4_L5="d=bulge c=mild ls=mild rs=mild",
    L5_S1="d=herniation ls=unspecified",
)

rep(
    "D05",
    """
IMPRESSION:
1. L4-L5: Moderate central canal stenosis due to a diffuse disc bulge and facet hypertrophy. Mild bilateral foraminal narrowing.
2. L5-S1: Right paracentral disc extrusion with mass effect on the traversing right S1 nerve root.
3. No significant stenosis at the remaining levels.
""",
    L4_L5="d=bulge c=moderate lf=mild rf=mild",
    L5_S1="d=herniation rs=unspecified",
)

rep(
    "D06",
    """
TECHNIQUE: Multiplanar multisequence MRI of the lumbar spine.
FINDINGS:
L1-L2 through L3-L4 are unremarkable without disc herniation, spinal canal or neural foraminal stenosis.
L4-L5: There is a circumferential disc bulge with a superimposed central protrusion. This results in moderate spinal canal stenosis. There is mild left and moderate right neural foraminal narrowing.
L5-S1: Grade 1 anterolisthesis of L5 on S1 with uncovering of the disc, which together with facet arthropathy produces severe bilateral neural foraminal stenosis. The spinal canal is patent.
IMPRESSION: Moderate spinal canal stenosis at L4-L5. Severe bilateral foraminal stenosis at L5-S1.
""",
    L4_L5="d=herniation c=moderate lf=mild rf=moderate",
    L5_S1="d=bulge lf=severe rf=severe",
)

rep(
    "D07",
    """
FINDINGS: Normal lumbar alignment. No fracture. The distal cord and conus are normal.
No disc herniation, central canal stenosis or neural foraminal narrowing is seen at any level.
IMPRESSION: Normal MRI of the lumbar spine.
""",
)

rep(
    "D08",
    """
Findings:
- L1/2: normal.
- L2/3: normal.
- L3/4: minimal bulge, no stenosis.
- L4/5: shallow broad-based protrusion with slight indentation of the thecal sac. Mild bilateral subarticular narrowing. Foramina adequate.
- L5/S1: left foraminal protrusion contacting the exiting left L5 nerve root; mild left foraminal stenosis.
Impression:
Left L5/S1 foraminal protrusion with contact of the exiting L5 root.
""",
    L3_L4="d=bulge",
    L4_L5="d=herniation c=mild ls=mild rs=mild",
    L5_S1="d=herniation lf=mild",
)

rep(
    "D09",
    """
HISTORY: Status post L5-S1 fusion. Persistent pain.
FINDINGS:
Postoperative changes of posterior fusion at L5-S1 with pedicle screws. No recurrent disc herniation at L5-S1. The canal and foramina at L5-S1 are widely patent.
L4-L5: Adjacent segment degeneration with a broad-based disc bulge and facet arthropathy causing severe central canal stenosis and moderate bilateral foraminal stenosis. The bulge effaces both lateral recesses.
L3-L4: Mild disc bulge. No stenosis.
L1-L2 and L2-L3: Unremarkable.
IMPRESSION: Severe adjacent segment canal stenosis at L4-L5.
""",
    L3_L4="d=bulge",
    L4_L5="d=bulge c=severe lf=moderate rf=moderate ls=unspecified rs=unspecified",
)

rep(
    "D10",
    """
Findings: There is a large left paracentral extrusion at L5-S1 with a sequestered fragment migrating caudally behind the S1 body, severely compressing the left S1 nerve root and effacing the left lateral recess. The thecal sac is moderately compressed. Left neural foramen is mildly narrowed. At L4-L5 there is disc desiccation and a mild diffuse bulge without stenosis. Elsewhere, there is no significant abnormality.
Impression: Large left paracentral L5-S1 disc extrusion with sequestered fragment compressing the left S1 root.
""",
    L4_L5="d=bulge",
    L5_S1="d=herniation c=moderate lf=mild ls=severe",
)

rep(
    "D11",
    """
FINDINGS:
L3-4: questionable tiny right foraminal protrusion. Foramina patent.
L4-5: Disc bulge. Mild canal stenosis cannot be excluded.
L5-S1: Small central protrusion, likely contacting the traversing S1 nerve roots bilaterally.
""",
    L3_L4="unc",
    L4_L5="d=bulge unc",
    L5_S1="d=herniation ls=unspecified rs=unspecified",
)

rep(
    "D12",
    """
MRI L-SPINE W/O
Indication: sciatica
Findings: Lumbar vertebrae are normal in height. L2-L3 and L3-L4 demonstrate mild disc bulges without significant central canal or foraminal stenosis. L4-L5 demonstrates a moderate-sized right paracentral disc herniation that compresses the right lateral recess and displaces the right L5 nerve root posteriorly, with mild-to-moderate central canal stenosis. The L5-S1 level is unremarkable.
Impression:
Right paracentral L4-L5 disc herniation with mild to moderate canal stenosis and displacement of the right L5 nerve root.
""",
    L2_L3="d=bulge",
    L3_L4="d=bulge",
    L4_L5="d=herniation c=moderate rs=unspecified",
)

rep(
    "D13",
    """
FINDINGS: The lumbosacral junction demonstrates a broad-based disc protrusion with moderate left and mild right neural foraminal stenosis. There is no spinal canal stenosis. At L4/L5, mild facet arthropathy. The remaining disc levels are preserved.
""",
    L5_S1="d=herniation lf=moderate rf=mild",
)

rep(
    "D14",
    """
IMPRESSION:
1. Mild multilevel lumbar spondylosis.
2. L3-4 and L4-5 mild disc bulges with mild central canal stenosis.
3. Suspected small annular fissure at L5-S1 without herniation.
""",
    L3_L4="d=bulge c=mild",
    L4_L5="d=bulge c=mild",
)

rep(
    "D15",
    """
Findings:
Previously seen L4-5 left paracentral protrusion has resolved. There is a residual mild disc bulge at L4-5 without canal stenosis. Neural foramina are patent throughout.
At L5-S1 there is a new right subarticular protrusion impinging on the traversing right S1 nerve root with mild right lateral recess narrowing.
Impression: Resolved L4-5 protrusion. New right L5-S1 subarticular protrusion.
""",
    L4_L5="d=bulge",
    L5_S1="d=herniation rs=mild",
)

rep(
    "D16",
    """
FINDINGS
L1-L2: No significant disc bulge, spinal canal stenosis, or neural foraminal narrowing.
L2-L3: No significant disc bulge, spinal canal stenosis, or neural foraminal narrowing.
L3-L4: Mild disc bulge and facet arthropathy with minimal spinal canal narrowing. Mild left neural foraminal narrowing. No right neural foraminal narrowing.
L4-L5: Disc bulge with superimposed left foraminal protrusion and facet arthropathy. Mild spinal canal narrowing. Severe left and mild right neural foraminal narrowing. The protrusion abuts the exiting left L4 nerve root.
L5-S1: Disc bulge and facet arthropathy. No spinal canal stenosis. Moderate bilateral neural foraminal narrowing.

IMPRESSION
Lumbar spondylosis, most pronounced at L4-L5 where there is severe left neural foraminal narrowing.
""",
    L3_L4="d=bulge c=mild lf=mild",
    L4_L5="d=herniation c=mild lf=severe rf=mild",
    L5_S1="d=bulge lf=moderate rf=moderate",
)

rep(
    "D17",
    """
Report:
Sagittal and axial images were obtained. There is straightening of the lumbar lordosis. There is a broad disc-osteophyte complex at L3-4 which abuts the thecal sac. No canal stenosis. At L4-5, there is a disc bulge that contacts the thecal sac without compressing it. Mild bilateral facet arthropathy. Foramina are adequate. L5-S1 is normal.
""",
    L3_L4="d=bulge",
    L4_L5="d=bulge",
)

rep(
    "D18",
    """
FINDINGS: L2-3 to L4-5: mild diffuse disc bulges and mild bilateral foraminal narrowing at each level. No central stenosis.
L5-S1: Left paracentral protrusion abutting the descending left S1 root.
""",
    L2_L3="d=bulge lf=mild rf=mild",
    L3_L4="d=bulge lf=mild rf=mild",
    L4_L5="d=bulge lf=mild rf=mild",
    L5_S1="d=herniation ls=unspecified",
)

rep(
    "D19",
    """
CLINICAL INFORMATION: 38F, L5 radiculopathy on the left, ? disc herniation.
TECHNIQUE: Sag T1/T2/STIR, axial T2.
FINDINGS: Normal alignment and marrow signal. T12-L1 to L3-L4: normal discs; no stenosis.
L4-L5: Left paracentral disc extrusion extending into the left lateral recess with compression of the traversing left L5 nerve root. Mild narrowing of the central canal. The left foramen is also mildly narrowed; right foramen patent.
L5-S1: Mild disc desiccation, no herniation.
IMPRESSION:
Left paracentral L4-L5 extrusion compressing the left L5 nerve root.
""",
    L4_L5="d=herniation c=mild lf=mild ls=unspecified",
)

rep(
    "D20",
    """
FINDINGS:
At L1-L2 and L2-L3, no focal abnormality.
At L3-L4, there is a mild annular bulge, which mildly effaces the ventral thecal sac. The neural foramina are patent.
At L4-L5, there is a moderate broad-based disc bulge and bilateral facet hypertrophy. Together these result in moderate central canal stenosis and moderate bilateral lateral recess stenosis, right greater than left. Mild bilateral foraminal narrowing.
At L5-S1, there is no disc bulge or herniation. The central canal and neural foramina are widely patent.
""",
    L3_L4="d=bulge c=mild",
    L4_L5="d=bulge c=moderate lf=mild rf=mild ls=moderate rs=moderate",
)

rep(
    "D21",
    """
IMPRESSION: Broad-based disc bulge at L4/5 with possible small superimposed left paracentral protrusion; no significant canal or foraminal stenosis. Remainder unremarkable.
""",
    L4_L5="d=bulge unc",
)

rep(
    "D22",
    """
Findings: Mild degenerative changes of the lower lumbar spine. L3-L4: mild bulge. L4-L5: Mild bulge with mild bilateral foraminal narrowing. L5-S1: Central disc protrusion. Moderate canal narrowing.
Impression: Degenerative changes as above. Most significant at L5-S1 with a central protrusion and moderate canal stenosis. Mild left foraminal narrowing at L5-S1 as well.
""",
    L3_L4="d=bulge",
    L4_L5="d=bulge lf=mild rf=mild",
    L5_S1="d=herniation c=moderate lf=mild",
)

rep(
    "D23",
    """
FINDINGS: Transitional anatomy is not present. L1-L2 through L3-L4 demonstrate normal disc height and signal without bulge or herniation. Canal and foramina are patent at these levels.
L4-L5: Diffuse disc bulge eccentric to the left with a left foraminal component causing moderate left foraminal narrowing with contact of the exiting left L4 nerve root. Mild central canal stenosis.
L5-S1: Mild disc bulge without central canal stenosis. The foramina are mildly narrowed.
""",
    L4_L5="d=bulge c=mild lf=moderate",
    L5_S1="d=bulge lf=mild rf=mild",
)

rep(
    "D24",
    """
Lumbar MRI. Clinical details: back pain after lifting. Comparison none.
Findings: At L5/S1 there is a prolapse of the disc, central and to the right, effacing the anterior CSF and causing severe narrowing of the right lateral recess with impingement of the right S1 nerve root. The canal is otherwise of normal calibre. The exit foramina are normal. L4/5 shows a minor bulge only. The other levels are normal.
Opinion: Right sided L5/S1 disc prolapse impinging on the right S1 nerve root.
""",
    L4_L5="d=bulge",
    L5_S1="d=herniation rs=severe",
)

rep(
    "D25",
    """
FINDINGS:
L4-5: There is a broad-based disc bulge with a left paracentral disc protrusion versus extrusion, which mildly compresses the thecal sac. Mild bilateral neural foraminal narrowing.
L5-S1: Equivocal small central protrusion. No stenosis.
IMPRESSION:
1. L4-5 left paracentral disc protrusion with mild compression of the thecal sac.
2. Equivocal small central protrusion at L5-S1.
""",
    L4_L5="d=herniation c=mild lf=mild rf=mild",
    L5_S1="unc",
)

rep(
    "D26",
    """
FINDINGS: No disc herniation at any level. There is moderate central canal stenosis at L3-L4 secondary to facet arthropathy and ligamentum flavum hypertrophy. Mild disc bulges at L4-L5 and L5-S1 without stenosis.
""",
    L3_L4="c=moderate",
    L4_L5="d=bulge",
    L5_S1="d=bulge",
)

rep(
    "D27",
    """
FINDINGS:
L1-2: Disc bulge, no stenosis.
L2-3: Disc bulge, no stenosis.
L3-4: Disc bulge and facet arthropathy with mild central canal stenosis and moderate bilateral foraminal stenosis.
L4-5: Right paracentral herniation contacting the right L5 nerve root. Moderate central canal stenosis. Mild right foraminal stenosis.
L5-S1: Disc osteophyte complex with severe left and moderate right foraminal stenosis. No canal stenosis.
""",
    L1_L2="d=bulge",
    L2_L3="d=bulge",
    L3_L4="d=bulge c=mild lf=moderate rf=moderate",
    L4_L5="d=herniation c=moderate rf=mild rs=unspecified",
    L5_S1="d=bulge lf=severe rf=moderate",
)

rep(
    "D28",
    """
History: LBP.
Findings: The vertebral bodies are normal. The discs are unremarkable from L1-L2 to L3-L4. There is a mild disc bulge at the L4-L5 level with a small annular tear. Mild bilateral facet arthropathy. There is no significant spinal canal or neural foraminal stenosis. At the L5-S1 level there is a small central disc herniation that slightly indents the thecal sac. No nerve root compression.
Impression: Small L5-S1 central disc herniation. Mild L4-L5 disc bulge.
""",
    L4_L5="d=bulge",
    L5_S1="d=herniation c=mild",
)

rep(
    "D29",
    """
FINDINGS:
L4–L5: Moderate disc bulge with a small central protrusion. Severe central canal stenosis with crowding of the cauda equina. Moderate narrowing of both lateral recesses. Moderate bilateral foraminal stenosis.
L5–S1: Small disc bulge. Neural foramina patent. Canal patent.
Other levels: no significant abnormality.
""",
    L4_L5="d=herniation c=severe lf=moderate rf=moderate ls=moderate rs=moderate",
    L5_S1="d=bulge",
)

rep(
    "D30",
    """
IMPRESSION:
1. No definite disc herniation.
2. Mild bilateral neural foraminal narrowing at L5-S1 due to facet hypertrophy.
3. Borderline central canal stenosis at L4-L5.
""",
    L4_L5="c=mild",
    L5_S1="lf=mild rf=mild",
)

rep(
    "D31",
    """
FINDINGS: L3/L4: Disc bulge with high-grade central canal stenosis. L4/L5: moderate in degree central stenosis from a diffuse bulge, with marked bilateral foraminal narrowing. L5/S1: Normal.
""",
    L3_L4="d=bulge c=severe",
    L4_L5="d=bulge c=moderate lf=severe rf=severe",
)

rep(
    "D32",
    """
FINDINGS:
L2-3: A small left foraminal disc protrusion is present. No foraminal narrowing.
L3-4: Extraforaminal right protrusion compressing the exiting right L3 nerve root.
L4-5: There is no canal stenosis. Bilateral subarticular recess narrowing is mild.
""",
    L2_L3="d=herniation",
    L3_L4="d=herniation rf=unspecified",
    L4_L5="ls=mild rs=mild",
)

rep(
    "D33",
    """
FINDINGS: There is a broad based L4-5 disc bulge with a superimposed right paracentral protrusion. The protrusion displaces the traversing right L5 nerve root. The central canal is mildly narrowed. Neural foramina are patent. There is a small L5-S1 bulge. No significant canal or foraminal stenosis at L5-S1. The remaining lumbar levels are unremarkable.
IMPRESSION: Right paracentral L4-5 protrusion displacing the right L5 nerve root; mild central stenosis.
""",
    L4_L5="d=herniation c=mild rs=unspecified",
    L5_S1="d=bulge",
)

rep(
    "D34",
    """
FINDINGS:
L5-S1: Status post left laminotomy. Enhancing epidural fibrosis surrounds the left S1 nerve root. No recurrent herniation. Canal and foramina patent.
L4-5: Mild disc bulge. Mild facet arthropathy. Mild right foraminal narrowing.
IMPRESSION: Postoperative changes at L5-S1 without recurrent disc herniation. Mild right L4-5 foraminal narrowing.
""",
    L4_L5="d=bulge rf=mild",
)

rep(
    "D35",
    """
FINDINGS: Lumbar spine MRI shows disc desiccation throughout. At L1-2 there is a tiny bulge. At L2-3 and L3-4, mild disc bulges with mild canal stenosis. At L4-5 a disc extrusion is seen compressing the thecal sac, causing severe canal stenosis, and also effacing the left lateral recess. L5-S1 shows a disc bulge and mild right foraminal narrowing.
""",
    L1_L2="d=bulge",
    L2_L3="d=bulge c=mild",
    L3_L4="d=bulge c=mild",
    L4_L5="d=herniation c=severe ls=unspecified",
    L5_S1="d=bulge rf=mild",
)

rep(
    "D36",
    """
FINDINGS: The conus is normal. There is no evidence of disc herniation or canal stenosis at L1-L2, L2-L3 or L3-L4.
L4-L5: mild disc bulge. Query small left foraminal protrusion. No nerve root compromise.
L5-S1: disc bulge causes mild to moderate left foraminal narrowing.
IMPRESSION: Mild degenerative changes L4-L5 and L5-S1 as described.
""",
    L4_L5="d=bulge unc",
    L5_S1="d=bulge lf=moderate",
)

rep(
    "D37",
    """
FINDINGS:
Levels:
L1/L2 - unremarkable.
L2/L3 - unremarkable.
L3/L4 - small broad-based bulge, no canal stenosis, foramina patent.
L4/L5 - broad-based bulge with a left paracentral protrusion, effacing the thecal sac with moderate canal stenosis. Left lateral recess narrowing with possible impingement of the left L5 root. Foramina patent.
L5/S1 - normal.
""",
    L3_L4="d=bulge",
    L4_L5="d=herniation c=moderate ls=unspecified unc",
)

rep(
    "D38",
    """
IMPRESSION:
1. At L4-5, mild disc bulge and facet arthropathy with mild central canal stenosis.
2. At L5-S1, probable small right paracentral protrusion, consistent with the patient's right S1 symptoms, abutting the traversing right S1 nerve root.
3. Otherwise no significant disc herniation or stenosis.
""",
    L4_L5="d=bulge c=mild",
    L5_S1="d=herniation rs=unspecified",
)

rep(
    "D39",
    """
FINDINGS:
No significant stenosis at L1-2 or L2-3.
L3-4: Mild canal stenosis due to a disc bulge.
L4-5: Canal stenosis, severe, due to a disc bulge, facet arthropathy and ligamentum flavum thickening. The lateral recesses are effaced bilaterally.
L5-S1: Moderate disc space narrowing. No disc herniation. Foramina patent.
IMPRESSION:
Severe canal stenosis at L4-5. Mild at L3-4.
""",
    L3_L4="d=bulge c=mild",
    L4_L5="d=bulge c=severe ls=unspecified rs=unspecified",
)

rep(
    "D40",
    """
Findings: No significant abnormality at L1-L2, L2-L3. L3-L4: slight diffuse disc bulge. L4-L5: diffuse disc bulge with shallow central protrusion, mild canal narrowing, and mild narrowing of the left neural foramen. L5-S1: left paracentral extrusion compressing the left S1 nerve root, moderate narrowing of the left lateral recess, no canal stenosis.
Impression: L5-S1 left paracentral extrusion compressing the left S1 root.
""",
    L3_L4="d=bulge",
    L4_L5="d=herniation c=mild lf=mild",
    L5_S1="d=herniation ls=moderate",
)

rep(
    "D41",
    """
FINDINGS: L4-L5 shows a disc bulge rather than herniation with no significant stenosis. L5-S1 demonstrates a small left paracentral protrusion which may represent an extrusion, slightly indenting the thecal sac.
""",
    L4_L5="d=bulge",
    L5_S1="d=herniation c=mild",
)

rep(
    "D42",
    """
Exam: MR lumbar spine. Reason for exam: left leg pain ? L5 radiculopathy.
Findings: At L4 - L5 there is a left lateral recess disc protrusion that displaces the left traversing L5 nerve root. The spinal canal is mildly narrowed. Neural foramina widely patent. L5 - S1 has a mild disc bulge that contacts but does not compress the S1 roots. L3 - L4 normal.
Impression: Left L4-5 protrusion displacing the left L5 root.
""",
    L4_L5="d=herniation c=mild ls=unspecified",
    L5_S1="d=bulge ls=unspecified rs=unspecified",
)

rep(
    "D43",
    """
Findings:
1. L3-4: No significant abnormality.
2. L4-5: Severe spinal stenosis from a broad-based disc herniation and facet hypertrophy, with severe narrowing of the bilateral lateral recesses and moderate bilateral neural foraminal stenosis.
3. L5-S1: Mild bilateral foraminal narrowing; no disc bulge.
""",
    L4_L5="d=herniation c=severe lf=moderate rf=moderate ls=severe rs=severe",
    L5_S1="lf=mild rf=mild",
)

rep(
    "D44",
    """
FINDINGS: All lumbar levels show mild disc bulges. In addition, at L4-5 there is a right paracentral protrusion with moderate right lateral recess stenosis. No central canal or foraminal stenosis at any level.
""",
    L1_L2="d=bulge",
    L2_L3="d=bulge",
    L3_L4="d=bulge",
    L4_L5="d=herniation rs=moderate",
    L5_S1="d=bulge",
)


def main(out_dir: Path) -> None:
    reports, gold = [], []
    for rid, text, g in R:
        reports.append({"report_id": rid, "text": text})
        for lvl in LEVELS:
            spec = g.get(lvl.replace("-", "_"), "")
            kw = {}
            for tok in spec.split():
                if tok == "unc":
                    kw["uncertain"] = True
                    continue
                k, v = tok.split("=")
                kw[ALIAS[k]] = v
            gold.append(LevelLabels(level=lvl, **kw).to_exchange(report_id=rid))
    with open(out_dir / "dev_reports.jsonl", "w", encoding="utf-8") as fh:
        for r in reports:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(out_dir / "dev_gold.jsonl", "w", encoding="utf-8") as fh:
        for r in gold:
            fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main(Path(__file__).parent)
