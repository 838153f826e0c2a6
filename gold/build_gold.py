"""Source of the hand-annotated lumbar MRI gold set.

Run:  python gold/build_gold.py   -> writes gold/reports.jsonl and prints the
split / grade-distribution tables used in gold/README.md.

Labels are written compactly as six space-separated triples in the order
T12-L1 L1-L2 L2-L3 L3-L4 L4-L5 L5-S1; each triple is scs rfs lfs, with a digit
0-3 for a grade and '-' for null (not determined by the report).
"""
import json
import os
from collections import Counter

LEVELS = ["T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
KEYS = ["scs", "rfs", "lfs"]
N_TUNE = 62  # G001..G062 tune, the rest holdout

R = []


def add(rid, style, text, labels):
    R.append((rid, style, text.strip("\n"), labels))


def parse_labels(s):
    groups = s.split()
    assert len(groups) == 6, s
    out = {}
    for lvl, g in zip(LEVELS, groups):
        assert len(g) == 3, s
        out[lvl] = {k: (None if c == "-" else int(c)) for k, c in zip(KEYS, g)}
    return out

# ---------------------------------------------------------------------------
# G001-G020
# ---------------------------------------------------------------------------
add("G001", "classic headed level-by-level, numbered impression", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST

CLINICAL HISTORY: 58-year-old male with low back pain radiating to the left leg. Evaluate for stenosis at L4-5.

TECHNIQUE: Sagittal T1, T2 and STIR; axial T1 and T2 images through the lumbar spine.

COMPARISON: None.

FINDINGS:
Alignment: Normal lumbar lordosis. No spondylolisthesis.
Vertebral bodies: Heights are maintained. Type 2 Modic endplate changes at L4-5. No marrow replacing lesion.
Conus: The conus medullaris terminates at L1 and is normal in signal.
T12-L1: No disc herniation. No spinal canal or neural foraminal stenosis.
L1-L2: No disc herniation. No spinal canal or neural foraminal stenosis.
L2-L3: Mild disc bulge. No spinal canal or neural foraminal stenosis.
L3-L4: Mild disc bulge and mild facet arthropathy. Mild spinal canal stenosis. Neural foramina are patent.
L4-L5: Broad-based disc bulge with superimposed left paracentral protrusion, moderate facet arthropathy and ligamentum flavum thickening. Moderate spinal canal stenosis with narrowing of the left lateral recess. Mild right and moderate left neural foraminal stenosis.
L5-S1: Mild disc desiccation. No spinal canal stenosis. Mild bilateral neural foraminal narrowing.
Paraspinal soft tissues: Unremarkable.

IMPRESSION:
1. L4-5 moderate spinal canal stenosis and moderate left neural foraminal stenosis, with left lateral recess narrowing which may affect the traversing left L5 nerve root.
2. Mild canal stenosis at L3-4.
3. Mild bilateral foraminal narrowing at L5-S1.
""", "000 000 000 100 212 011")

add("G002", "very terse normal study, inline headers", """
MRI L-spine w/o. Hx: LBP.
Findings: Normal alignment and marrow signal. Conus normal, terminates at L1. Discs are well hydrated. No disc herniation, canal stenosis, or foraminal narrowing at any level.
Impression: Normal MRI of the lumbar spine.
""", "000 000 000 000 000 000")

add("G003", "narrative paragraph, several levels per paragraph, comparison radiographs with findings", """
PROCEDURE: MR lumbar spine without IV contrast.
INDICATION: Bilateral leg pain with walking. Neurogenic claudication? r/o spinal stenosis L3-L5.
COMPARISON: Lumbar spine radiographs 03/14/2022 showing grade 1 anterolisthesis of L4 on L5 and severe disc space narrowing at L5-S1.

FINDINGS: There is a grade 1 degenerative anterolisthesis of L4 on L5 measuring approximately 5 mm. Vertebral body heights are preserved. Marrow signal is within normal limits aside from degenerative endplate changes at L5-S1. The conus terminates normally at the L1 level.

T12-L1 through L2-3 are unremarkable. At L3-4 there is a circumferential disc bulge with facet hypertrophy resulting in mild central canal stenosis and mild bilateral foraminal narrowing. At L4-5 the anterolisthesis, unroofing of the disc, severe facet arthropathy and ligamentum flavum buckling result in severe central canal stenosis with crowding of the cauda equina; there is moderate right and moderate to severe left neural foraminal narrowing. At L5-S1 there is disc space narrowing with a shallow bulge and no canal stenosis; the foramina are mildly narrowed, left greater than right.

IMPRESSION:
Severe central canal stenosis at L4-5 due to degenerative anterolisthesis and facet arthropathy, with moderate right and moderate-to-severe left foraminal narrowing. Mild canal stenosis at L3-4.
""", "000 000 000 111 323 011")

add("G004", "ALL CAPS terse level-by-level with grouped normal levels", """
MRI LUMBAR SPINE WITHOUT CONTRAST
HISTORY: BACK PAIN.
TECHNIQUE: MULTIPLANAR MULTISEQUENCE IMAGING WITHOUT CONTRAST.
COMPARISON: NONE.
FINDINGS:
ALIGNMENT IS NORMAL. NO COMPRESSION FRACTURE. MARROW SIGNAL IS NORMAL. CONUS NORMAL, TERMINATING AT L1. PARASPINAL SOFT TISSUES UNREMARKABLE.
T12-L1, L1-L2, L2-L3: NO STENOSIS.
L3-L4: MILD DISC BULGE. NO CANAL STENOSIS. MILD LEFT FORAMINAL STENOSIS.
L4-L5: DISC BULGE AND FACET ARTHROPATHY. MILD TO MODERATE CANAL STENOSIS. MODERATE BILATERAL FORAMINAL STENOSIS.
L5-S1: DISC DESICCATION. PATENT CANAL AND FORAMINA.
IMPRESSION:
MULTILEVEL DEGENERATIVE CHANGE, WORST AT L4-L5 WITH MILD TO MODERATE CANAL STENOSIS AND MODERATE BILATERAL FORAMINAL STENOSIS.
""", "000 000 000 0-1 222 000")

add("G005", "post-operative hemilaminectomy with contrast, comparison to prior MRI", """
EXAMINATION: MRI lumbar spine with and without contrast.

REASON FOR EXAM: Recurrent right leg pain. History of L4-5 laminectomy and discectomy 2019. Evaluate for recurrent disc herniation vs scar.

TECHNIQUE: Multiplanar multisequence MR images before and after 7 mL gadobutrol.

COMPARISON: MRI lumbar spine 05/02/2019 (preoperative).

FINDINGS:
Postsurgical changes of prior right L4-5 hemilaminectomy. Enhancing granulation tissue surrounds the right L5 nerve root in the right lateral recess, without a discrete nonenhancing recurrent disc fragment.
Alignment is normal. Vertebral body heights are maintained. Conus terminates at L1.
T12-L1 through L2-L3: No significant disc bulge, canal or foraminal stenosis.
L3-L4: Mild disc bulge and facet arthropathy. Mild canal stenosis. Foramina are patent.
L4-L5: Right hemilaminectomy defect. The central canal is widely patent. Mild right foraminal narrowing, improved compared to the prior examination where it was moderate. The left foramen is patent.
L5-S1: Small central disc protrusion without significant canal stenosis. Mild left foraminal narrowing; right foramen patent.

IMPRESSION:
1. Postoperative changes at L4-5 with enhancing epidural fibrosis surrounding the right L5 nerve root. No recurrent disc herniation.
2. Widely patent canal at the operated level.
3. Mild degenerative canal stenosis at L3-4.
""", "000 000 000 100 010 001")

add("G006", "UK style, slash level names (L4/5), range of normal levels, Conclusion", """
MRI LUMBAR SPINE

Clinical details: Sciatica right leg, ?L5/S1 disc prolapse.

Findings:
Normal lumbar lordosis. Vertebral body heights and marrow signal normal. The conus ends at L1 and is normal.
L1/2 to L3/4 are normal.
L4/5: Disc desiccation with a broad based disc bulge. Mild narrowing of the lateral recesses. The spinal canal is not significantly narrowed. Exit foramina patent.
L5/S1: Right paracentral disc extrusion extending inferiorly behind the S1 body, compressing the right S1 nerve root in the lateral recess. Moderate narrowing of the spinal canal. The right exit foramen is mildly narrowed, the left is normal.

Conclusion: Right paracentral L5/S1 disc extrusion compressing the right S1 nerve root with moderate canal narrowing.
""", "--- 000 000 000 000 210")

add("G007", "near-normal, 'remaining levels are unremarkable', incidental renal cyst", """
EXAM: MRI L SPINE WO CONTRAST
INDICATION: Low back pain x 6 months, failed PT.

FINDINGS:
The lumbar vertebral bodies are normal in height and alignment. Bone marrow signal is normal. The conus medullaris ends at the L1 level with normal signal. Incidental 2 cm simple cyst in the lower pole of the left kidney.
L4-5: There is a small broad-based disc bulge with an annular fissure. Mild bilateral facet arthropathy. No significant central canal stenosis. No foraminal narrowing.
L5-S1: Minimal disc bulge. Mild left foraminal narrowing. The canal is patent.
The remaining levels are unremarkable.

IMPRESSION: Mild degenerative disc disease at L4-5 and L5-S1 without significant stenosis. Mild left foraminal narrowing at L5-S1.
""", "000 000 000 000 000 001")

add("G008", "long verbose severe multilevel disease, CT myelogram comparison with findings", """
EXAMINATION: MRI of the lumbar spine without contrast

CLINICAL INDICATION: 76-year-old female with progressive neurogenic claudication, walking tolerance less than one block. Known multilevel lumbar stenosis on CT myelogram 2021. Surgical planning.

TECHNIQUE: Sagittal T1-weighted, T2-weighted and STIR sequences, axial T2-weighted images from T12 through S1, and axial T1-weighted images from L2 through S1 were obtained on a 1.5 T magnet.

COMPARISON: CT myelogram of the lumbar spine dated 11/08/2021, which reported severe stenosis at L3-4 and L4-5. No prior MRI is available.

FINDINGS:
There is a mild levoconvex curvature of the lumbar spine centered at L3. There is grade 1 degenerative anterolisthesis of L3 on L4 and of L4 on L5. Vertebral body heights are preserved. There is multilevel disc desiccation and loss of disc height, most pronounced at L2-3 and L5-S1. Type 1 Modic changes are present at the L2-3 endplates. The conus medullaris terminates at the level of L1 and demonstrates normal signal. Redundant nerve roots of the cauda equina are seen above the L3-4 level.

T12-L1: Unremarkable.
L1-L2: Small disc bulge. Mild facet arthropathy. No canal stenosis. The neural foramina are patent.
L2-L3: Disc bulge with endplate osteophytes, moderate facet arthropathy and ligamentum flavum hypertrophy. Moderate spinal canal stenosis. Mild bilateral neural foraminal narrowing.
L3-L4: Anterolisthesis with uncovering of the disc, marked facet arthropathy with joint effusions, and ligamentum flavum thickening result in severe spinal canal stenosis, with near complete effacement of the CSF around the cauda equina. The right neural foramen is moderately narrowed. The left neural foramen is severely narrowed with compression of the exiting left L3 nerve root.
L4-L5: Anterolisthesis, disc bulge and severe facet arthropathy with a synovial cyst arising from the right facet joint projecting into the right lateral recess. Severe spinal canal stenosis. Moderate to severe bilateral neural foraminal narrowing.
L5-S1: Marked disc height loss with a broad-based disc osteophyte complex. No central canal stenosis. Severe right and moderate left neural foraminal narrowing with effacement of perineural fat around the right L5 nerve root.

Sacrum/SI joints: Mild degenerative changes of the sacroiliac joints.
Paraspinal musculature: Moderate fatty atrophy.

IMPRESSION:
1. Severe multilevel lumbar spondylosis.
2. Severe spinal canal stenosis at L3-4 and L4-5, with redundant nerve roots above L3-4.
3. Moderate spinal canal stenosis at L2-3.
4. Severe left L3-4, bilateral moderate to severe L4-5, and severe right L5-S1 neural foraminal stenosis.
5. Grade 1 anterolisthesis of L3 on L4 and L4 on L5.
""", "000 000 211 323 333 032")

add("G009", "table of canal / right foramen / left foramen grades", """
MRI LUMBAR SPINE W/O
Indication: radiculopathy L>R.
Technique: routine non-contrast protocol.

Findings:
Alignment normal. Marrow normal. Conus tip at L1.
Level-by-level (canal / right foramen / left foramen):
T12-L1   none / none / none
L1-L2    none / none / none
L2-L3    none / none / none
L3-L4    mild / none / mild
L4-L5    moderate / mild / moderate
L5-S1    none / mild / severe
Additional: left foraminal disc protrusion at L5-S1 contacting the exiting left L5 root. Facet arthropathy L4-5 and L5-S1.

Impression: Severe left L5-S1 foraminal stenosis secondary to a foraminal disc protrusion. Moderate canal stenosis L4-5.
""", "000 000 000 101 212 013")

add("G010", "impression upgrades findings (mild -> moderate)", """
EXAM: MR LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: Right L5 radiculopathy.
COMPARISON: None available.

FINDINGS: The alignment is normal. There is no fracture. Marrow signal is unremarkable. The conus terminates at the inferior endplate of L1.
T12-L1: Normal.
L1-L2: Normal.
L2-L3: Normal.
L3-L4: Mild diffuse disc bulge. No significant stenosis.
L4-L5: Diffuse disc bulge with right foraminal component and facet hypertrophy. Mild canal stenosis. Mild to moderate right neural foraminal narrowing. Left foramen is mildly narrowed.
L5-S1: Normal.

IMPRESSION:
1. L4-5 disc bulge with moderate canal stenosis and moderate right foraminal stenosis, which may affect the exiting right L4 nerve root.
2. Mild left foraminal narrowing at L4-5.
""", "000 000 000 000 221 000")

add("G011", "dictation with typos (stenosi, foraminla) and no punctuation", """
MRI LUMBAR SPINE
HISTORY low back pain left leg numbness
FINDINGS
Normal alignment no listhesis Vertebral body heights maintained
L1-2 no stenosi
L2-3 no stenosis
L3-4 mild disc bulge mild facet arthropathy no canal stenosis mild bilateral foraminla narrowing
L4-5 disc bulge with left paracentral protrusion moderate canal stenosi moderate left foraminla stenosis right foramen patent
L5-S1 small disc bulge no significant stenosis
IMPRESSION
Moderate canal and left foraminal stenosis L4-5
""", "--- 000 000 011 202 000")

add("G012", "transitional anatomy (partially sacralized L5), standard level names", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Chronic low back pain.
TECHNIQUE: Sagittal T1, T2, STIR; axial T2.
COMPARISON: Lumbar radiographs from 2 weeks prior.

FINDINGS:
Numbering: There are five non-rib-bearing lumbar-type vertebral bodies. The L5 vertebral body is transitional with bilateral enlarged transverse processes forming pseudoarthroses with the sacrum (Castellvi type IIb). The last well-formed disc is at L4-5. Numbering is concordant with the radiographs; correlate prior to any intervention.
The conus terminates at the L1 level.
T12-L1 and L1-L2: No disc bulge or stenosis.
L2-L3: Small disc bulge. No stenosis.
L3-L4: Disc bulge and mild facet arthropathy with mild narrowing of the canal. Foramina are mildly narrowed bilaterally.
L4-L5: Broad disc protrusion with annular fissure and moderate bilateral facet arthropathy. Moderate central canal stenosis. Moderate left and mild right foraminal narrowing.
L5-S1: Rudimentary disc. No stenosis.

IMPRESSION:
1. Transitional L5 vertebral body (partial sacralization).
2. Moderate canal stenosis and moderate left foraminal narrowing at L4-5.
3. Mild stenosis at L3-4.
""", "000 000 000 111 212 000")

add("G013", "mostly ungraded stenosis and herniation-only statements (null-heavy)", """
CLINICAL INDICATION: Back pain, evaluate for canal stenosis at L3-4.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

COMPARISON: Radiographs of the lumbar spine from last year.

FINDINGS: Five lumbar-type vertebrae. The conus terminates at L1 and is normal in signal. Marrow signal is unremarkable. Alignment maintained. Vertebral body heights normal.
L1-L2 and L2-L3: Disc desiccation without disc herniation.
L3-L4: Disc bulge and facet arthrosis with resultant canal stenosis. Foraminal narrowing is present bilaterally.
L4-L5: Disc bulge. Mild right foraminal narrowing. No canal stenosis.
L5-S1: No disc herniation. Facet arthropathy.

IMPRESSION: Degenerative changes at L3-4 with canal and bilateral foraminal stenosis. Mild right foraminal narrowing at L4-5.
""", "--- --- --- --- 01- ---")

add("G014", "structured sub-fields per level (Disc / Central canal / Foramina)", """
EXAM: MRI Lumbar Spine WO
HISTORY: Left buttock pain.

FINDINGS:
ALIGNMENT: Normal.
VERTEBRAE: No fracture or suspicious marrow lesion. Hemangioma in L2 vertebral body.
CONUS: Normal, terminating at L1.
DISC LEVELS:
T12-L1: No significant abnormality.
L1-L2: No significant abnormality.
L2-L3: No significant abnormality.
L3-L4: Disc: mild bulge. Central canal: patent. Foramina: patent.
L4-L5: Disc: bulge with central annular fissure. Central canal: mild stenosis. Foramina: mild left, none right.
L5-S1: Disc: desiccated, small left subarticular protrusion contacting the descending left S1 root. Central canal: patent. Foramina: right patent, left mild.
OTHER: Small Tarlov cyst at S2.

IMPRESSION:
Mild L4-5 canal stenosis. Left subarticular protrusion at L5-S1 contacting the left S1 nerve root.
""", "000 000 000 000 101 001")

add("G015", "headerless narrative with prior-MRI comparison and side-comparison range", """
MRI of the lumbar spine was performed without contrast. Comparison is made to MRI dated 2/3/2020. There is stable mild retrolisthesis of L2 on L3. Vertebral body heights are maintained. At T12-L1 and L1-2 there is no canal or foraminal stenosis. At L2-3, there is a disc bulge with mild canal stenosis, unchanged. At L3-4, a disc bulge and facet hypertrophy produce moderate canal stenosis, previously mild, and mild to moderate bilateral foraminal narrowing, right greater than left. At L4-5, there is mild facet arthropathy without canal or foraminal stenosis. At L5-S1, there is a small central protrusion which mildly indents the thecal sac without stenosis.
IMPRESSION: Progression of canal stenosis at L3-4, now moderate. Mild to moderate foraminal narrowing at L3-4, right greater than left.
""", "000 000 1-- 221 000 000")

add("G016", "global canal-only negative statement plus foraminal findings", """
EXAM: MRI LUMBAR SPINE
HISTORY: Bilateral leg paresthesias.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

COMPARISON: None.

FINDINGS: Alignment normal. Vertebral body heights are maintained and marrow signal is normal. No fracture. The conus is normal in position and signal. There is no spinal canal stenosis at any level. Disc desiccation at L4-5 and L5-S1 with small disc bulges. At L4-5 there is mild left neural foraminal narrowing. At L5-S1 there is moderate right neural foraminal narrowing with contact of the exiting right L5 nerve root; the left foramen is mildly narrowed. Facet joints are unremarkable.

IMPRESSION: No canal stenosis. Moderate right L5-S1 foraminal stenosis.
""", "0-- 0-- 0-- 0-- 0-1 021")

add("G017", "'The L4-L5 level' style sentences, lumbosacral junction naming, slight", """
FINDINGS:
Vertebral alignment and heights are normal. Schmorl's node at the superior endplate of L1.
The disc levels from T12-L1 through L3-L4 demonstrate no significant canal or foraminal stenosis.
At L4-L5, there is a shallow broad-based disc bulge with mild bilateral facet hypertrophy. Slight narrowing of the central canal. Neural foramina are normal.
At the lumbosacral junction there is a left paracentral disc extrusion with caudal migration, which deforms the thecal sac and displaces the left S1 nerve root posteriorly. Moderate canal stenosis. Mild narrowing of the left neural foramen. Right neural foramen is normal.
Otherwise, the paraspinal soft tissues are unremarkable.

IMPRESSION: Left paracentral L5-S1 disc extrusion with moderate canal stenosis and posterior displacement of the left S1 nerve root.
""", "000 000 000 000 100 201")

add("G018", "isthmic spondylolisthesis, 'both neural foramina', prior CT with findings", """
EXAM: MRI lumbar spine.
INDICATION: Lumbar radiculopathy. Prior CT showed L5 pars defects.
COMPARISON: CT lumbar spine 1/1/2023: bilateral L5 spondylolysis with grade 1 anterolisthesis; severe bilateral foraminal stenosis at L5-S1 was described on CT.

FINDINGS: There is bilateral L5 spondylolysis with grade 2 isthmic anterolisthesis of L5 on S1. Otherwise normal alignment. Vertebral body heights preserved. Conus ends at L1.
T12-L1 to L3-L4: No significant abnormality.
L4-L5: Minimal disc bulge. No stenosis.
L5-S1: Anterolisthesis with pseudo-disc uncovering. The spinal canal is not narrowed. Both neural foramina are moderately to severely narrowed, with the exiting L5 nerve roots compressed.

IMPRESSION: Isthmic spondylolisthesis at L5-S1 with moderate to severe narrowing of both foramina.
""", "000 000 000 000 000 033")

add("G019", "'Negative' levels, R>L, 'severe on the left and moderate on the right'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
Clinical: 64M, left L4 radiculopathy.
Technique: Standard sagittal and axial sequences at 3T.
Comparison: MRI 2018.

Findings:
Alignment: Straightening of the lumbar lordosis. Stable 3 mm retrolisthesis of L3 on L4.
Bone marrow: Stable Modic type 2 changes at L3-4.
Conus: Terminates at L1, normal.
Disc levels:
T12-L1: Negative.
L1-L2: Negative.
L2-L3: Mild disc bulge, mild facet arthropathy, no canal stenosis, mild bilateral foraminal stenosis R>L.
L3-L4: Disc osteophyte complex, left foraminal disc protrusion, facet arthropathy. Mild canal stenosis. Foraminal stenosis is severe on the left and moderate on the right; the left foraminal stenosis has progressed since the prior exam when it was moderate.
L4-L5: Mild disc bulge. Mild canal stenosis. Foramina patent.
L5-S1: Negative.

Impression:
Progressive severe left L3-4 foraminal stenosis impinging on the exiting left L3 nerve root, which may contribute to symptoms.
""", "000 000 011 123 100 000")

add("G020", "very terse, 'No stenosis at other levels'", """
MRI lumbar spine. Mild degenerative change. L4-5 mild central canal stenosis. L5-S1 mild right foraminal narrowing. No stenosis at other levels.
""", "000 000 000 000 1-- -1-")
# ---------------------------------------------------------------------------
# G021-G040
# ---------------------------------------------------------------------------
add("G021", "post-operative L4-S1 fusion with adjacent segment disease", """
EXAM: MRI LUMBAR SPINE WITH AND WITHOUT CONTRAST
HISTORY: Status post L4-S1 fusion 2020, new left leg pain.
COMPARISON: Lumbar radiographs 10/2023 showing intact hardware. MRI 04/2019.

FINDINGS:
Postoperative changes of L4-S1 posterior spinal fusion with bilateral pedicle screws and interconnecting rods, and L4-5 and L5-S1 interbody spacers. Susceptibility artifact from the hardware limits evaluation of the fused levels. Laminectomy defects at L4 and L5.
Alignment is maintained. The conus terminates at L1.
T12-L1: Normal.
L1-L2: Normal.
L2-L3: Disc desiccation and mild disc bulge, facet arthropathy. Mild canal stenosis. Mild right foraminal stenosis. Left foramen patent.
L3-L4 (adjacent segment): New since 2019, there is a broad-based disc bulge, marked facet hypertrophy and ligamentum flavum thickening resulting in moderately severe canal stenosis. Moderate bilateral foraminal stenosis, left worse than right.
L4-L5: Fused. Decompressed canal is patent. Foramina are not well seen due to artifact but appear patent.
L5-S1: Fused. Canal patent. Foramina patent.
No abnormal enhancing fluid collection.

IMPRESSION:
1. Adjacent segment degeneration at L3-4 with moderately severe canal stenosis and moderate bilateral foraminal stenosis, left greater than right.
2. Stable postoperative changes at L4-S1 without stenosis.
""", "000 000 110 322 000 000")

add("G022", "semicolon shorthand, spaced level names (L1 - 2), en dash, R/L abbreviations, mild-moderate", """
MRI Lumbar spine non-contrast
Reason: LBP, R leg pain
Findings:
There are 5 lumbar vertebrae. No fracture. Alignment ok.
T12–L1: no disc herniation; canal and foramina normal.
L1 - 2: no disc herniation; canal and foramina normal.
L2 - 3: minimal bulge; canal and foramina normal.
L3 - 4: bulge and facet arthropathy; mild-moderate canal stenosis; mild R foraminal narrowing; L foramen normal.
L4 - 5: bulge, R foraminal protrusion; mild canal stenosis; moderate R foraminal stenosis with contact on exiting R L4; mild L foraminal stenosis.
L5 - S1: desiccation; canal normal; foramina normal.
Impression: L4–5 right foraminal protrusion with moderate R foraminal stenosis. Mild-moderate L3–4 canal stenosis.
""", "000 000 000 210 121 000")

add("G023", "normal verbose study, clinical history asks about stenosis", """
EXAMINATION: MR LUMBAR SPINE WITHOUT CONTRAST

CLINICAL HISTORY: 34-year-old female with low back pain after lifting. Rule out disc herniation and foraminal stenosis.

TECHNIQUE: Sagittal T1, sagittal T2, sagittal STIR, axial T1 and axial T2 images of the lumbar spine were obtained without intravenous contrast.

COMPARISON: None.

FINDINGS: The lumbar spine is normally aligned. The vertebral body heights and marrow signal are normal. The intervertebral discs demonstrate normal height and T2 signal. There is no disc herniation. The spinal canal and neural foramina are patent at all levels. The facet joints are normal. The conus medullaris is normal in signal and terminates at the L1 level. The paraspinal soft tissues are unremarkable. Incidentally noted is a small left renal cyst.

IMPRESSION: Normal MRI of the lumbar spine. No disc herniation or stenosis.
""", "000 000 000 000 000 000")

add("G024", "narrative findings, high-grade / critical wording, numbered impression", """
FINDINGS:
There is multilevel degenerative disc disease. At L2-3 there is a moderate-sized central disc extrusion which, combined with facet and ligamentum flavum hypertrophy, produces high-grade central canal stenosis. The foramina at L2-3 are mildly narrowed bilaterally. At L3-4 a diffuse bulge causes mild canal stenosis and mild left foraminal narrowing. At L4-5 there is critical canal stenosis due to a combination of a large disc bulge and severe facet arthropathy; there is moderate bilateral foraminal stenosis. L5-S1 demonstrates disc desiccation and a small bulge without canal stenosis, with mild right foraminal narrowing. L1-2 and T12-L1 are unremarkable.
Alignment is normal. Conus terminates at L1.

IMPRESSION:
1. High-grade canal stenosis at L2-3 secondary to central disc extrusion.
2. Critical canal stenosis at L4-5.
3. Moderate bilateral foraminal stenosis at L4-5.
4. Additional mild degenerative stenoses as described.
""", "000 000 311 1-1 322 01-")

add("G025", "lateral recess / subarticular and thecal sac distractors", """
MRI LUMBAR SPINE
Clinical history: Right S1 radiculopathy.

Findings:
Alignment normal. Vertebral heights normal. Marrow normal. Conus normal at L1.
L1-2 through L3-4: Normal.
L4-5: Minimal disc bulge producing a mild impression on the thecal sac. Canal and foramina are patent.
L5-S1: Right subarticular disc protrusion, severely narrowing the right lateral recess and compressing the descending right S1 nerve root. The central canal is mildly narrowed. Mild right foraminal narrowing. The left foramen is patent.

Impression: Right subarticular L5-S1 disc protrusion with severe right lateral recess stenosis and compression of the right S1 nerve root.
""", "--- 000 000 000 000 110")

add("G026", "ALL CAPS narrative, impression upgrades L4-5 canal", """
MRI L-SPINE WITHOUT CONTRAST.
FINDINGS: THERE IS MULTILEVEL DEGENERATIVE DISC DISEASE WITH DISC DESICCATION FROM L3-4 THROUGH L5-S1. AT L3-4 THERE IS A DISC BULGE WITH MILD SPINAL CANAL STENOSIS. AT L4-5 THERE IS A DISC BULGE AND FACET ARTHROPATHY CAUSING MODERATE SPINAL CANAL STENOSIS AND MODERATE RIGHT AND MILD LEFT NEURAL FORAMINAL STENOSIS. AT L5-S1 THERE IS MILD BILATERAL NEURAL FORAMINAL STENOSIS WITHOUT SPINAL CANAL STENOSIS. T12-L1 THROUGH L2-3 ARE UNREMARKABLE. CONUS TERMINATES AT L1.
IMPRESSION:
1. MODERATE TO SEVERE SPINAL CANAL STENOSIS AT L4-5.
2. MODERATE RIGHT NEURAL FORAMINAL STENOSIS AT L4-5.
3. MILD CANAL STENOSIS AT L3-4 AND MILD BILATERAL FORAMINAL STENOSIS AT L5-S1.
""", "000 000 000 1-- 321 011")

add("G027", "headerless short narrative, 'both neural foramina', 'left worse than right'", """
Lumbar MRI without contrast. Clinical: L leg pain. Normal alignment. The conus is normal. T12-L1 through L2-L3 show no significant stenosis. L3-L4 shows slight disc bulging with slight narrowing of both neural foramina. L4-L5 has a left foraminal to extraforaminal disc protrusion; there is moderate foraminal narrowing bilaterally, left worse than right, and the canal is patent. L5-S1 shows a disc bulge with mild central canal stenosis and no foraminal narrowing. Impression: Left foraminal/extraforaminal disc protrusion at L4-L5 with moderate bilateral foraminal narrowing, left worse than right.
""", "000 000 000 -11 022 000")

add("G028", "follow-up vs prior MRI: prior grades mentioned, only current state counts", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Follow-up L4-5 disc extrusion, previously severe stenosis.
COMPARISON: MRI lumbar spine 6 months prior.

FINDINGS:
Interval regression of the previously described large left paracentral disc extrusion at L4-5. Previously there was severe canal stenosis at this level; there is now mild canal stenosis. The left lateral recess remains mildly narrowed. The neural foramina at L4-5 are patent.
At L5-S1, the previously described mild right foraminal narrowing is no longer appreciated; the canal and foramina are patent.
L3-4: Stable mild disc bulge with mild bilateral foraminal stenosis and no canal stenosis.
The remaining disc levels are unremarkable.
Alignment is normal. Conus normal.

IMPRESSION: Interval regression of the L4-5 disc extrusion, with improvement from severe to mild canal stenosis.
""", "000 000 000 011 100 000")

add("G029", "range heading 'T12-L1 through L2-L3', adverbial grades, R>L", """
EXAM: MRI LUMBAR SPINE W/O CONTRAST
HISTORY: Low back and bilateral leg pain.

FINDINGS:
T12-L1 through L2-L3: No stenosis.
L3-L4: Disc bulge and facet arthrosis. The canal is mildly narrowed. The foramina are moderately narrowed, R>L.
L4-L5: Disc bulge, facet arthrosis and grade 1 anterolisthesis. The canal is severely narrowed. The right foramen is mildly narrowed and the left is moderately narrowed.
L5-S1: Disc bulge. Canal patent. Foramina mildly narrowed.
Other: Small Tarlov cysts at S1 and S2. Conus ends at L1.

IMPRESSION:
1. Severe canal stenosis at L4-L5.
2. Moderate bilateral foraminal narrowing at L3-L4 and moderate left foraminal narrowing at L4-L5.
""", "000 000 000 122 312 011")

add("G030", "'The L5-S1 level demonstrates' style, marked, 'narrowing of the right neural foramen'", """
EXAM: MRI lumbar spine without contrast.
HISTORY: Chronic right leg pain, prior epidural injections at L5-S1.

FINDINGS: Normal lordosis. Vertebral bodies normal in height. There is loss of disc height at L5-S1 with type 2 Modic changes. The conus is normal.
The L1-L2, L2-L3 and L3-L4 levels are unremarkable.
The L4-L5 level demonstrates a small disc bulge and mild facet arthropathy. There is no central canal stenosis. There is mild narrowing of the right neural foramen. The left neural foramen is normal.
The L5-S1 level demonstrates a broad-based disc osteophyte complex, eccentric to the right, with marked narrowing of the right neural foramen and impingement of the exiting right L5 nerve root. The left neural foramen is mildly narrowed. The central canal is patent.

IMPRESSION: Marked right L5-S1 neural foraminal narrowing with impingement of the exiting right L5 nerve root.
""", "--- 000 000 000 010 031")

add("G031", "ungraded bilateral foraminal narrowing, 'bilateral ... severe on the right' (left ungraded)", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Low back pain with bilateral radicular symptoms.

FINDINGS:
Alignment: Grade 1 anterolisthesis L4 on L5.
Conus: Normal.
L1-2: No significant stenosis.
L2-3: No significant stenosis.
L3-4: Mild disc bulge. Mild canal stenosis. Foraminal narrowing bilaterally.
L4-5: Anterolisthesis and facet arthropathy. Moderate canal stenosis. Mild right foraminal stenosis. Moderate left foraminal stenosis.
L5-S1: Disc bulge and osteophytes, bilateral foraminal stenosis, severe on the right. No canal stenosis.

IMPRESSION:
1. Grade 1 anterolisthesis L4-5 with moderate canal stenosis.
2. Severe right foraminal stenosis L5-S1.
""", "--- 000 000 1-- 212 03-")

add("G032", "long verbose oncologic-history report, moderate to severe range left greater than right", """
EXAMINATION: MRI LUMBAR SPINE WITHOUT CONTRAST

CLINICAL INFORMATION: 71-year-old male with chronic low back pain and bilateral lower extremity radiating pain, left more than right. History of prostate cancer. Evaluate for metastatic disease and spinal stenosis.

TECHNIQUE: Multiplanar, multisequence MRI of the lumbar spine without intravenous contrast.

COMPARISON: Bone scan 07/2022. CT abdomen and pelvis 08/2022 showing degenerative changes of the lumbar spine.

FINDINGS:
Osseous structures: No marrow replacing lesion to suggest metastatic disease. Scattered small hemangiomas. Mild degenerative endplate changes at L3-4 and L4-5.
Alignment: Mild dextroconvex scoliosis. Trace retrolisthesis of L3 on L4.
Conus: The conus medullaris terminates at the L1 vertebral level and is normal.
Individual levels:
T12-L1: No significant disc bulge. The spinal canal and foramina are patent.
L1-L2: Mild disc bulge without canal or foraminal narrowing.
L2-L3: Mild disc bulge and bilateral facet arthropathy. There is mild-to-moderate central canal stenosis. The neural foramina are mildly narrowed bilaterally.
L3-L4: There is a broad-based disc bulge with a superimposed central protrusion and annular fissure, moderate bilateral facet arthropathy, and ligamentum flavum redundancy. These findings result in moderate central canal stenosis with bilateral lateral recess narrowing. There is moderate to severe bilateral neural foraminal narrowing, left greater than right.
L4-L5: There is a broad-based disc bulge and moderate facet arthropathy. Mild central canal stenosis. Mild left neural foraminal narrowing. The right neural foramen is patent.
L5-S1: Disc desiccation with a small central protrusion that contacts but does not displace the S1 nerve roots. No canal stenosis. Patent neural foramina.
Soft tissues: Atrophic kidneys bilaterally. Enlarged prostate partially imaged.

IMPRESSION:
1. No evidence of osseous metastatic disease.
2. Multilevel lumbar spondylosis, most pronounced at L3-4 where there is moderate central canal stenosis and moderate to severe bilateral foraminal narrowing, left greater than right.
3. Mild to moderate canal stenosis at L2-3.
""", "000 000 211 223 101 000")

add("G033", "one-line negative study", """
MRI LUMBAR SPINE: Negative for spinal canal or neural foraminal stenosis. No disc herniation. Normal conus. IMPRESSION: Negative lumbar spine MRI.
""", "000 000 000 000 000 000")

add("G034", "level headings on their own line followed by sentences", """
MRI LUMBAR SPINE WITHOUT CONTRAST

FINDINGS:
Alignment and vertebral body heights are normal. There is no marrow edema.

T12-L1
No disc bulge. No stenosis.

L1-L2
No disc bulge. No stenosis.

L2-L3
Small posterior disc bulge. No canal stenosis. The neural foramina are normal.

L3-L4
Posterior disc bulge and mild ligamentum flavum thickening. Mild canal stenosis. Mild right neural foraminal narrowing. No left foraminal narrowing.

L4-L5
Posterior disc bulge with left foraminal annular fissure. Mild facet arthropathy. Mild canal stenosis. Moderate left neural foraminal narrowing. Mild right neural foraminal narrowing.

L5-S1
Disc desiccation. Small posterior disc bulge. No canal stenosis. Mild bilateral neural foraminal narrowing.

IMPRESSION
Mild multilevel spondylosis with mild canal stenosis at L3-4 and L4-5 and moderate left neural foraminal narrowing at L4-5.
""", "000 000 000 110 112 011")

add("G035", "hedged grades (possible / questionable)", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Left anterior thigh pain.

FINDINGS:
Alignment is normal. No acute osseous abnormality.
L1-L2 through L3-L4: Normal disc height and signal. No stenosis.
L4-L5: Small left foraminal disc protrusion. Possible mild left foraminal narrowing. Canal is patent. Right foramen patent.
L5-S1: Mild disc bulge. Questionable mild canal stenosis. Foramina are patent.
T12-L1 is included only on the sagittal images and appears unremarkable.

IMPRESSION: Small left foraminal disc protrusion at L4-5 with possible mild left foraminal narrowing. Otherwise no significant stenosis.
""", "000 000 000 000 001 100")

add("G036", "six lumbar-type vertebrae named L6 (L5-L6, L6-S1 are not L5-S1)", """
EXAM: MRI LUMBAR SPINE
HISTORY: Low back pain.

FINDINGS:
There are six lumbar-type vertebral bodies; for the purposes of this report, the lowest lumbar-type vertebral body is designated L6. The lowest rib-bearing vertebra is T12. Correlation with radiographs is recommended before any intervention.
The conus terminates at L1.
T12-L1 through L3-L4: No disc herniation. No canal or foraminal stenosis.
L4-L5: Mild disc bulge. No canal stenosis. Mild left foraminal narrowing.
L5-L6: Disc bulge with facet arthropathy. Moderate canal stenosis. Moderate bilateral foraminal narrowing.
L6-S1: Rudimentary disc. No stenosis.

IMPRESSION: Six lumbar-type vertebral bodies, numbered as above. Moderate canal and bilateral foraminal stenosis at L5-L6.
""", "000 000 000 000 0-1 ---")

add("G037", "trauma: compression fracture with retropulsion at T12-L1, CT comparison with different grade", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: Fall. Compression fracture on CT.
COMPARISON: CT lumbar spine from yesterday demonstrating an acute L1 compression fracture with 30% height loss and retropulsion causing moderate canal narrowing at T12-L1.

FINDINGS:
Acute compression fracture of the L1 vertebral body with approximately 30% anterior height loss and marrow edema. There is 3 mm retropulsion of the posterosuperior cortex of L1, which mildly narrows the spinal canal at the T12-L1 level. The conus medullaris terminates at the L1 level and is normal in signal without cord compression. No evidence of posterior ligamentous injury. No other fracture.
T12-L1: Mild canal stenosis due to retropulsion as above. Foramina are patent.
L1-L2 through L5-S1: Mild disc desiccation. No evidence of canal or foraminal stenosis.
Paraspinal edema at L1.

IMPRESSION:
1. Acute L1 compression fracture with 30% height loss and 3 mm retropulsion, resulting in mild canal stenosis at T12-L1. No cord compression.
2. No evidence of stenosis elsewhere.
""", "100 000 000 000 000 000")

add("G038", "ALL CAPS nearly normal", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: LOW BACK PAIN. R/O STENOSIS.
FINDINGS: VERTEBRAL BODY HEIGHT AND ALIGNMENT ARE MAINTAINED. MARROW SIGNAL NORMAL. CONUS NORMAL.
T12-L1: UNREMARKABLE.
L1-L2: UNREMARKABLE.
L2-L3: UNREMARKABLE.
L3-L4: UNREMARKABLE.
L4-L5: MINIMAL DISC BULGE. NO CANAL OR FORAMINAL STENOSIS.
L5-S1: SMALL CENTRAL DISC PROTRUSION WITHOUT STENOSIS.
IMPRESSION: NO SIGNIFICANT STENOSIS.
""", "000 000 000 000 000 000")

add("G039", "headerless-level narrative, 'narrow the canal to a mild-moderate degree', 'severely narrows'", """
FINDINGS: The lumbar lordosis is preserved. There is degenerative disc disease at L4-5 and L5-S1. At L4-5, a broad-based disc bulge and facet arthropathy narrow the central canal to a mild-moderate degree. The left neural foramen is moderately narrowed; the right neural foramen is mildly narrowed. At L5-S1, a left foraminal disc osteophyte complex severely narrows the left neural foramen. There is no canal stenosis at L5-S1 and the right foramen is patent. Mild disc bulges at L2-3 and L3-4 do not cause stenosis. L1-2 is normal. Conus medullaris normal.

IMPRESSION: 1. Severe left L5-S1 foraminal stenosis. 2. Mild to moderate L4-5 canal stenosis with moderate left foraminal stenosis.
""", "--- 000 000 000 212 003")

add("G040", "post-operative recurrent disc herniation", """
EXAMINATION: MRI lumbar spine with and without contrast
HISTORY: Left L5-S1 microdiscectomy 3 months ago, recurrent left leg pain.

FINDINGS:
Postoperative changes of left L5-S1 laminotomy. There is a 9 mm non-enhancing left paracentral disc extrusion at L5-S1, with peripheral enhancement, consistent with recurrent disc herniation. It compresses the left S1 nerve root in the lateral recess and results in mild central canal stenosis. Enhancing epidural scar extends along the left lateral recess. The left neural foramen is mildly narrowed. The right neural foramen is patent.
L4-5: Mild disc bulge. No canal stenosis. Foramina patent.
L1-2 through L3-4: Unremarkable.
T12-L1: Unremarkable.
Conus and cauda equina normal.

IMPRESSION:
1. Recurrent left paracentral disc extrusion at L5-S1, compressing the left S1 nerve root, with mild canal stenosis.
2. Postoperative epidural fibrosis.
""", "000 000 000 000 000 101")
# ---------------------------------------------------------------------------
# G041-G062
# ---------------------------------------------------------------------------
add("G041", "narrative, several levels per sentence ('mild ... at L3-4 and moderate at L4-5')", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Bilateral buttock pain.

FINDINGS: Five lumbar-type vertebrae. The alignment is anatomic. Vertebral body heights are preserved. Degenerative disc disease is seen from L3-4 through L5-S1 with disc height loss and desiccation. Disc bulges and facet hypertrophy result in mild canal stenosis at L3-4 and moderate at L4-5. There is mild bilateral foraminal narrowing at L3-4 and L4-5, and moderate right foraminal narrowing at L5-S1. The L5-S1 canal is patent. L1-2 and L2-3 are unremarkable. The conus and cauda equina are normal.

IMPRESSION: Moderate canal stenosis at L4-5; mild canal stenosis at L3-4. Moderate right L5-S1 foraminal narrowing.
""", "--- 000 000 111 211 02-")

add("G042", "structured template 'Spinal canal: ... Neural foramina: right ..., left ...'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Bilateral leg numbness.

FINDINGS:
Lumbar segmentation: Normal, 5 lumbar vertebrae.
Alignment: Normal.
Vertebrae: Normal height. Benign hemangioma at L3.
Conus: Normal, terminates at L1.
Paraspinal: Normal.
T12-L1: Disc: normal. Spinal canal: normal. Neural foramina: right normal, left normal.
L1-L2: Disc: normal. Spinal canal: normal. Neural foramina: right normal, left normal.
L2-L3: Disc: bulge. Spinal canal: normal. Neural foramina: right normal, left normal.
L3-L4: Disc: bulge. Spinal canal: mild. Neural foramina: right mild, left mild.
L4-L5: Disc: bulge with central protrusion. Spinal canal: moderate-severe. Neural foramina: right moderate, left mild.
L5-S1: Disc: bulge. Spinal canal: normal. Neural foramina: right mild, left moderate.

IMPRESSION:
Moderate to severe spinal canal stenosis at L4-L5.
""", "000 000 000 111 321 012")

add("G043", "near-normal, level described only by bulge/facets, impression resolves it", """
MRI LUMBAR SPINE
HISTORY: Intermittent low back pain.

TECHNIQUE: Routine non-contrast MRI of the lumbar spine at 3T.

COMPARISON: None available.

FINDINGS: Vertebral alignment is normal. There is no fracture or marrow lesion. The conus is normal in position. At L4-5 there is a minimal disc bulge with mild bilateral facet arthropathy. At L5-S1 there is a small right paracentral disc protrusion without nerve root compression; no canal or foraminal stenosis. The remaining levels are normal.

IMPRESSION: Minor degenerative changes at L4-5 and L5-S1 without significant canal or foraminal stenosis.
""", "000 000 000 000 000 000")

add("G044", "single grade with 'right greater than left', radiograph comparison", """
MRI LUMBAR SPINE
CLINICAL INDICATION: Right sciatica.
COMPARISON: Radiographs dated 1/2/2024 show degenerative disc disease at L5-S1.

FINDINGS: Normal alignment. Disc desiccation and mild height loss at the lumbosacral junction. Vertebral body heights and marrow signal otherwise normal. Conus terminates at L1.
T12-L1 to L3-L4: No disc bulge, canal or foraminal stenosis.
L4-L5: Mild disc bulge. Mild facet arthropathy. No canal stenosis. Mild bilateral foraminal narrowing, right greater than left.
L5-S1: Broad-based disc bulge with a right foraminal protrusion. No canal stenosis. Moderate bilateral foraminal stenosis, right greater than left, with contact on the exiting right L5 nerve root.

IMPRESSION: Moderate bilateral L5-S1 foraminal stenosis, right greater than left.
""", "000 000 000 000 011 022")

add("G045", "lowercase dictation with typos (moderatley, sever, stenosi, bilat), severe multilevel", """
Findings: there is diffuse degenerative disc disease throughout the lumbar spine. L1-2: mild bulge, no stenosis. L2-3: bulge and facet hypertrophy, moderatley narrowed canal, mild bilat foraminal narrowing. L3-4: bulge, facet hypertrophy and ligamentum flavum thickening, sever canal stenosis, moderate bilat foraminal stenosis. L4-5: grade 1 anterolisthesis, severe canal stenosi, severe right and moderate left foraminal stenosis. L5-S1: disc height loss, no canal stenosis, moderate bilateral foraminal narrowing.
Impression: severe canal stenosis L3-4 and L4-5. moderate canal stenosis L2-3. multilevel foraminal stenosis as above, worst at right L4-5.
""", "--- 000 211 322 332 022")

add("G046", "foraminal protrusion contacting root without a grade", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Left thigh pain.
TECHNIQUE: Sagittal T1, T2, STIR; axial T1 and T2.
COMPARISON: None.

FINDINGS:
Alignment: Normal.
Marrow: Normal.
Conus: Normal, ends at L1.
Levels:
T12-L1 through L2-L3: Normal.
L3-L4: Left foraminal disc protrusion contacting the exiting left L3 nerve root. Canal is normal.
L4-L5: Mild broad based disc bulge and facet arthropathy. Spinal canal and right foramen are patent. Left foramen mildly narrowed.
L5-S1: Normal.

IMPRESSION: Left foraminal disc protrusion at L3-L4 contacting the exiting left L3 nerve root.
""", "000 000 000 0-- 001 000")

add("G047", "combined phrases ('stenosis of the canal and foramina', 'canal and bilateral foraminal')", """
EXAM: MRI L-spine
HISTORY: Neurogenic claudication.
COMPARISON: Lumbar radiographs 2023 showing multilevel degenerative disc disease.

FINDINGS:
Mild dextroscoliosis. Multilevel degenerative changes. Vertebral body heights are preserved. The conus is normal.
L1-L2: Unremarkable.
L2-L3: Disc bulge resulting in mild stenosis of the canal and foramina.
L3-L4: Disc bulge and facet arthropathy. Moderate canal and bilateral foraminal stenosis.
L4-L5: Disc bulge, facet arthropathy, ligamentum flavum hypertrophy. Severe canal stenosis. Moderate right foraminal stenosis; left foramen is patent.
L5-S1: Mild bulge. No significant stenosis.

IMPRESSION:
Multilevel spinal stenosis, severe at L4-L5 and moderate at L3-L4.
""", "--- 000 111 222 320 000")

add("G048", "whole-study negative sentence with protrusion and fissure distractors", """
EXAM: MRI lumbar spine without contrast.
HISTORY: 29F, back pain after MVC.

TECHNIQUE: Sagittal T1, T2 and STIR, axial T2.

COMPARISON: Lumbar radiographs same day, negative for fracture.

FINDINGS: Normal alignment. No fracture or bone marrow edema. Small annular fissure at L4-5 with a minimal disc bulge. Small left paracentral protrusion at L5-S1, which abuts but does not compress the left S1 nerve root. Facet joints are normal. Conus normal at L1. No spinal canal or foraminal stenosis at any level. Prevertebral and paraspinal soft tissues are normal.

IMPRESSION: 1. No acute osseous injury. 2. Small L5-S1 left paracentral disc protrusion abutting the left S1 nerve root, without stenosis.
""", "000 000 000 000 000 000")

add("G049", "bulleted list, 'Foraminal stenosis: moderate on the right, mild on the left'", """
MRI LUMBAR SPINE WITHOUT IV CONTRAST
Indication: L4 radiculopathy right.
Findings:
- Alignment: mild levoscoliosis.
- Conus: ends at L1, normal.
- L1-2: normal.
- L2-3: normal.
- L3-4: disc bulge, facet arthropathy. Canal: mildly narrowed. Foraminal stenosis: moderate on the right, mild on the left.
- L4-5: disc bulge. Canal: not narrowed. Foraminal stenosis: mild on the right, none on the left.
- L5-S1: disc space narrowing and endplate changes. Canal patent. Foramina: moderate bilateral narrowing.
Impression:
1. Moderate right L3-4 foraminal stenosis, likely affecting the exiting right L3 root.
2. Moderate bilateral L5-S1 foraminal narrowing.
""", "--- 000 000 121 010 022")

add("G050", "UK prose, lumbosacral junction + L5/S1, 'No significant stenosis at the other levels'", """
MRI Lumbar Spine

Clinical Information: Left S1 radiculopathy, ? disc prolapse.

Findings: There is a large left paracentral disc extrusion at the lumbosacral junction, with cranial migration behind the L5 body, severely compressing the left S1 nerve root and moderately narrowing the spinal canal. The left L5/S1 exit foramen is mildly narrowed; the right is normal. At L4/5 there is a small disc bulge without neural compromise, with mild canal narrowing. No significant stenosis at the other levels. Conus normal.

Conclusion: Large left paracentral L5/S1 disc extrusion with compression of the left S1 nerve root and moderate canal stenosis.
""", "000 000 000 000 1-- 201")

add("G051", "'not significantly narrowed at any level, except ...', Modic / annular fissure", """
MRI LUMBAR SPINE WITHOUT CONTRAST
HISTORY: Axial low back pain. Discogenic pain?

FINDINGS: Alignment normal. Type 1 Modic changes along the L5-S1 endplates with surrounding edema. High-intensity zone / annular fissure at L4-5 posteriorly. Disc desiccation at L4-5 and L5-S1.
The canal is not significantly narrowed at any level. The neural foramina are not significantly narrowed at any level, except for mild right L5-S1 foraminal narrowing. Study is negative for disc extrusion. Conus normal.

IMPRESSION: Type 1 Modic changes at L5-S1, which may be a pain generator. Annular fissure L4-5. No significant stenosis.
""", "000 000 000 000 000 010")

add("G052", "distractor-heavy: lateral recess / subarticular grades, ungraded canal narrowing", """
MRI LUMBAR SPINE
INDICATION: Bilateral leg pain.

FINDINGS:
T12-L1: Normal.
L1-L2: Normal.
L2-L3: Minimal disc bulge which makes a mild impression on the thecal sac. The foramina are patent.
L3-L4: Mild disc bulge. Moderate bilateral facet arthropathy. Moderate bilateral lateral recess stenosis. The neural foramina are mildly narrowed.
L4-L5: Diffuse disc bulge and facet hypertrophy causing narrowing of the spinal canal and moderate bilateral subarticular stenosis. Mild right and moderate left foraminal stenosis.
L5-S1: Normal.

IMPRESSION: Degenerative changes at L3-4 and L4-5 with lateral recess stenosis as described.
""", "000 000 -00 -11 -12 000")

add("G053", "impression upgrades foraminal grade (moderate -> severe)", """
EXAM: MRI Lumbar Spine
INDICATION: Left leg weakness.
TECHNIQUE: Noncontrast multiplanar MRI.
COMPARISON: None.

FINDINGS:
L1-2, L2-3 and L3-4 are unremarkable.
L4-5: Left foraminal disc extrusion. Moderate left neural foraminal stenosis with compression of the exiting left L4 nerve root. Spinal canal and right foramen are patent.
L5-S1: Normal disc. No stenosis.
Alignment and marrow signal are normal. The conus is normal.

IMPRESSION: Left foraminal disc extrusion at L4-5 causing severe left foraminal stenosis and compression of the left L4 nerve root.
""", "--- 000 000 000 003 000")

add("G054", "very long verbose report, clinical history with grades, T11-12 thoracic level", """
EXAMINATION: MAGNETIC RESONANCE IMAGING OF THE LUMBAR SPINE WITHOUT INTRAVENOUS CONTRAST

CLINICAL HISTORY: 67-year-old woman with chronic low back pain, bilateral buttock and posterior thigh pain on standing and walking, relieved by sitting. Prior outside MRI reportedly showed severe stenosis at L4-5. Please evaluate for central stenosis and foraminal stenosis at L3-4, L4-5 and L5-S1.

TECHNIQUE: Sagittal T1, sagittal T2, sagittal STIR, axial T2 from L1 to S1 and axial T1 from L3 to S1.

COMPARISON: No prior MRI available for comparison. Lumbar radiographs from 09/2023 demonstrate degenerative anterolisthesis at L4-5 which increases on flexion.

FINDINGS:
There are five lumbar-type vertebral bodies, numbered assuming the lowest rib-bearing vertebra is T12. There is a 6 mm degenerative anterolisthesis of L4 on L5. Alignment is otherwise maintained. Vertebral body heights are preserved. Bone marrow signal is within normal limits, with a few scattered fatty marrow foci and a typical hemangioma in the L3 vertebral body. There are type 2 degenerative endplate signal changes at L4-5. The conus medullaris terminates at the inferior aspect of L1 and is normal in caliber and signal. The cauda equina nerve roots are mildly redundant above the L4-5 level.

Lower thoracic spine: The visualized lower thoracic levels demonstrate a small disc protrusion at T11-12 without stenosis.

T12-L1: There is no disc bulge or protrusion. The spinal canal and neural foramina are patent.
L1-L2: There is mild disc desiccation without disc bulge. No canal or foraminal narrowing.
L2-L3: There is a mild diffuse disc bulge. The facet joints are mildly hypertrophic. There is no significant spinal canal stenosis. The neural foramina are patent.
L3-L4: There is a diffuse disc bulge with an annular fissure, moderate facet arthropathy and ligamentum flavum thickening. There is mild spinal canal stenosis and mild narrowing of the lateral recesses. There is mild bilateral neural foraminal narrowing.
L4-L5: There is anterolisthesis with pseudobulging of the disc, severe bilateral facet arthropathy with small joint effusions, and marked ligamentum flavum thickening. These findings result in severe spinal canal stenosis, with the thecal sac reduced to a trefoil configuration, and obliteration of the lateral recesses. There is moderate right and severe left neural foraminal narrowing, with the left exiting L4 nerve root compressed in the foramen.
L5-S1: There is disc desiccation with a small broad-based disc bulge. There is moderate facet arthropathy. No spinal canal stenosis. Neural foramina are mildly narrowed bilaterally.

Sacrum and SI joints: Unremarkable.
Paraspinal soft tissues: Fatty atrophy of the multifidus muscles. A 1.5 cm simple cyst in the right kidney is incidentally noted.

IMPRESSION:
1. Degenerative anterolisthesis of L4 on L5 (6 mm) with severe spinal canal stenosis and severe left and moderate right neural foraminal narrowing at L4-5.
2. Mild spinal canal stenosis at L3-4.
3. Mild bilateral foraminal narrowing at L3-4 and L5-S1.
4. No significant stenosis at the remaining levels.
""", "000 000 000 111 323 011")

add("G055", "terse, generic graded 'stenosis' without location (-> canal)", """
MRI LS spine. Disc bulges L3-4 through L5-S1. Moderate stenosis at L4-5. Mild stenosis at L3-4. L5-S1 foramina are mildly narrowed bilaterally. L1-2 and L2-3 normal.
Impression: moderate L4-5 stenosis.
""", "--- 000 000 1-- 2-- -11")

add("G056", "single paragraph with inline headers, 'negative for', 'without'", """
PROCEDURE: MRI LUMBAR SPINE W/O CONTRAST. INDICATION: Numbness in feet; r/o stenosis. COMPARISON: None. FINDINGS: Normal lumbar lordosis without listhesis. Vertebral heights maintained. Conus normal at L1. T12-L1: There is no disc bulge or stenosis. L1-L2: There is no disc bulge or stenosis. L2-L3: Mild disc bulge without stenosis. L3-L4: Mild disc bulge without canal stenosis. The right foramen is mildly narrowed. L4-L5: Disc bulge with mild facet arthropathy, without canal stenosis. Slight narrowing of the left neural foramen. L5-S1: Evaluation is negative for canal or foraminal stenosis. IMPRESSION: Mild degenerative changes without significant canal stenosis. Mild right L3-4 and slight left L4-5 foraminal narrowing.
""", "000 000 000 01- 0-1 000")

add("G057", "follow-up vs prior MRI with 'unchanged' / 'progressed from mild to moderate'", """
EXAM: MRI lumbar spine without contrast
COMPARISON: MRI lumbar spine 03/2021.
HISTORY: Follow-up of known stenosis.

FINDINGS:
Compared to the prior MRI:
L2-3: Unchanged mild canal stenosis. Foramina patent.
L3-4: Canal stenosis has progressed from mild to moderate. Unchanged mild left foraminal narrowing; the right foramen is patent.
L4-5: Unchanged severe canal stenosis and moderate bilateral foraminal stenosis.
L5-S1: Unchanged. No stenosis.
T12-L1 and L1-2: Normal.
Alignment and marrow signal are unchanged. No new compression deformity.

IMPRESSION: Progression of L3-4 canal stenosis, now moderate. Otherwise stable multilevel stenosis, severe at L4-5.
""", "000 000 100 201 322 000")

add("G058", "sided stenosis without location word (-> foramina)", """
MRI LUMBAR SPINE
INDICATION: Right leg pain.

FINDINGS:
Alignment: normal.
L1-L2: Normal.
L2-L3: Normal.
L3-L4: Small disc bulge. Patent canal. Mild bilateral stenosis.
L4-L5: Moderate disc bulge, facet arthropathy. Mild central stenosis. Moderate right and mild left stenosis.
L5-S1: Normal.

IMPRESSION: Degenerative disc disease at L3-4 and L4-5. Moderate right L4-5 stenosis.
""", "--- 000 000 011 121 000")

add("G059", "short, minimal grades, 'Elsewhere, there is no stenosis'", """
MR lumbar spine without contrast. Indication: back pain. There is minimal disc bulging at L4-5 with minimal canal narrowing. L5-S1 shows minimal bilateral foraminal narrowing. Elsewhere, there is no stenosis. Alignment, vertebral heights and marrow are normal. Conus is unremarkable. Impression: Minimal degenerative change at L4-5 and L5-S1.
""", "000 000 000 000 1-- -11")

add("G060", "findings organised by structure (Canal / Foramina), not by level", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Right buttock and leg pain.

COMPARISON: None.

FINDINGS:
1. Alignment: Normal.
2. Vertebrae: Normal height and signal.
3. Conus: Normal.
4. Discs: Desiccation at L4-5 and L5-S1.
5. Canal: Mild central canal narrowing is seen at L4-5. The canal is otherwise of normal caliber at all levels.
6. Foramina: Moderate bilateral foraminal narrowing, right greater than left, is present at L5-S1. Mild left foraminal narrowing is present at L4-5. All other foramina are patent.

CONCLUSION: Moderate bilateral L5-S1 foraminal stenosis, right greater than left.
""", "000 000 000 000 101 022")

add("G061", "narrative, range 'from T12-L1 to L3-4', left greater than right range", """
MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: Bilateral radicular pain, worse on the left. Evaluate L4-5 foraminal stenosis.
COMPARISON: Radiographs 2/2024.

FINDINGS: Vertebral body heights and alignment are normal. There is disc desiccation at L4-5. The conus terminates at L1.
There is no significant stenosis from T12-L1 to L3-4. At L4-5 there is a diffuse disc bulge with bilateral facet hypertrophy resulting in mild central canal stenosis and mild to moderate bilateral foraminal narrowing, left greater than right. The lumbosacral junction is unremarkable.

IMPRESSION: L4-5 spondylosis with mild canal stenosis and mild to moderate bilateral foraminal narrowing, left greater than right.
""", "000 000 000 000 112 000")

add("G062", "ALL CAPS urgent cauda equina report, high grade / critical", """
MRI LUMBAR SPINE WO CONTRAST
CLINICAL: CAUDA EQUINA SYMPTOMS. URINARY RETENTION.
FINDINGS:
LARGE CENTRAL DISC EXTRUSION AT L4-L5 OCCUPYING MOST OF THE CANAL WITH HIGH GRADE SPINAL CANAL STENOSIS AND COMPRESSION OF THE CAUDA EQUINA. MILD BILATERAL FORAMINAL NARROWING AT L4-L5.
L3-L4: MILD DISC BULGE. NO STENOSIS.
L5-S1: SMALL DISC BULGE. NO CANAL STENOSIS. MILD RIGHT FORAMINAL NARROWING.
T12-L1 THROUGH L2-L3: NORMAL.
CONUS NORMAL. NO ABNORMAL CORD SIGNAL.
IMPRESSION:
CRITICAL SPINAL CANAL STENOSIS AT L4-L5 SECONDARY TO A LARGE CENTRAL DISC EXTRUSION WITH CAUDA EQUINA COMPRESSION. FINDINGS DISCUSSED WITH THE ORDERING PROVIDER BY TELEPHONE AT 14:32.
""", "000 000 000 000 311 01-")
# ---------------------------------------------------------------------------
# G063-G084 (holdout)
# ---------------------------------------------------------------------------
add("G063", "Australian style 'L4/5 level:', T12/L1, 'capacious', Comment section", """
MRI LUMBAR SPINE

Clinical notes: Left L5 radiculopathy. ?L4/5 disc.

Technique: Sagittal T1, T2, STIR; axial T2.

Report:
There are five lumbar vertebrae. The conus terminates normally at L1.
T12/L1 to L2/3 levels: No significant abnormality.
L3/4 level: Mild disc bulge. The canal and exit foramina are capacious.
L4/5 level: Left paracentral disc protrusion abutting the traversing left L5 nerve root in the lateral recess. Mild central canal narrowing. Mild left and no right foraminal narrowing.
L5/S1 level: Disc dehydration without significant canal or foraminal narrowing.

Comment: Left paracentral L4/5 disc protrusion abutting the traversing left L5 nerve root.
""", "000 000 000 000 101 000")

add("G064", "'neuroforaminal' wording, 'central stenosis', 'on the right/left'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
HISTORY: Right anterior thigh and knee pain.

FINDINGS: Mild levoscoliosis. No spondylolisthesis. Normal marrow signal. The distal cord and conus are normal.
L1-2: Normal disc. No stenosis.
L2-3: Normal disc. No stenosis.
L3-4: Mild disc bulge. No central stenosis. Mild neuroforaminal narrowing on the left.
L4-5: Disc bulge with superimposed right foraminal protrusion. Moderate neuroforaminal narrowing on the right. No neuroforaminal narrowing on the left. Mild central stenosis.
L5-S1: Grade 1 retrolisthesis. Disc bulge. No central stenosis. Bilateral mild neuroforaminal narrowing.

IMPRESSION: Right foraminal protrusion at L4-5 with moderate right neuroforaminal narrowing.
""", "--- 000 000 0-1 120 011")

add("G065", "severe multilevel, 'The foramina are ... narrowed' without side", """
EXAM: MRI LUMBAR SPINE
HISTORY: 81M with claudication.

FINDINGS:
Severe multilevel degenerative disease.
T12-L1: Mild disc bulge. No stenosis.
L1-L2: Disc bulge and facet arthropathy. Mild canal stenosis. The foramina are patent.
L2-L3: Disc bulge, facet arthropathy and ligamentum flavum hypertrophy. Moderate to severe canal stenosis. The foramina are mildly narrowed.
L3-L4: Disc bulge and severe facet arthropathy. Severe canal stenosis. The foramina are moderately narrowed.
L4-L5: Grade 1 anterolisthesis. Severe canal stenosis. The foramina are severely narrowed.
L5-S1: Disc bulge. Mild canal stenosis. The foramina are severely narrowed bilaterally.

IMPRESSION: Severe multilevel canal stenosis L2-3 through L4-5. Severe bilateral foraminal stenosis at L4-5 and L5-S1.
""", "000 100 311 322 333 133")

add("G066", "indication quotes a prior MRI grade (ignored), herniation-only statements", """
MRI of the lumbar spine without contrast.
Clinical indication: Low back pain radiating to the right buttock. Prior MRI 2019 showed L5-S1 disc herniation with moderate right foraminal stenosis.
Findings: The alignment is normal. Vertebral body height and marrow signal are normal. T12-L1, L1-2 and L2-3: no disc herniation. L3-4: no disc herniation. L4-5: small disc bulge; no stenosis. L5-S1: disc desiccation and a small right paracentral protrusion which contacts the traversing right S1 nerve root; no canal stenosis; the right foramen is mildly narrowed.
Impression: Small right paracentral L5-S1 protrusion contacting the right S1 nerve root.
""", "--- --- --- --- 000 01-")

add("G067", "impression upgrades L3-4 canal from 'no significant' to mild", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Lumbar radiculopathy.

FINDINGS:
Alignment: Normal.
Marrow: Normal.
Cord/conus: Normal, terminates at L1.
T12-L1: No stenosis.
L1-L2: No stenosis.
L2-L3: Disc bulge. No stenosis.
L3-L4: Disc bulge with facet hypertrophy. No significant canal stenosis. Mild bilateral foraminal narrowing.
L4-L5: Disc bulge with facet hypertrophy. Moderate canal stenosis. Mild right foraminal narrowing. Moderate left foraminal narrowing.
L5-S1: No stenosis.

IMPRESSION:
1. Moderate canal stenosis at L4-5 with moderate left foraminal narrowing.
2. Mild canal stenosis and mild bilateral foraminal narrowing at L3-4.
""", "000 000 000 111 212 000")

add("G068", "indented structured sub-lines per level, 'Levels above L3-L4 are normal'", """
LUMBAR SPINE MRI
Reason for exam: Radiculopathy, lumbar region.

FINDINGS
Vertebrae and alignment: Normal.
Conus: Normal in signal, terminating at L1.
Paraspinal soft tissues: Unremarkable.
L3-L4
  Disc: Mild bulge
  Central canal: Mild stenosis
  Right foramen: Patent
  Left foramen: Patent
L4-L5
  Disc: Bulge with right paracentral extrusion
  Central canal: Moderate stenosis
  Right foramen: Mild stenosis
  Left foramen: Patent
L5-S1
  Disc: Normal
  Central canal: Patent
  Right foramen: Patent
  Left foramen: Patent
Levels above L3-L4 are normal.

IMPRESSION
Right paracentral extrusion at L4-L5 with moderate central canal stenosis.
""", "000 000 000 100 210 000")

add("G069", "sentences without periods, 'Otherwise no significant stenosis'", """
MRI lumbar spine without contrast
History: Chronic LBP, bilateral leg pain
Findings: There is mild loss of height of the L3 vertebral body, chronic. Alignment normal. Conus normal
At L4-5 there is a large disc bulge and facet hypertrophy with moderately severe canal stenosis and moderate bilateral foraminal stenosis
At L3-4 there is a disc bulge with mild canal stenosis and mild right foraminal stenosis
At L5-S1 there is mild left foraminal stenosis
Otherwise no significant stenosis
Impression: Moderately severe canal stenosis L4-5
""", "000 000 000 11- 322 --1")

add("G070", "one-line ALL CAPS normal", """
MRI L SPINE: NORMAL ALIGNMENT. NO DISC HERNIATION OR STENOSIS. CONUS NORMAL. IMPRESSION: NORMAL.
""", "000 000 000 000 000 000")

add("G071", "isthmic spondylolisthesis with 'not stenotic' canal, radiograph and CT comparisons", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: 45-year-old with known L5 spondylolysis, now with bilateral L5 radicular pain.
COMPARISON: Lumbar spine radiographs demonstrating grade 1 spondylolisthesis at L5-S1, and a CT from 2020 reporting moderate foraminal stenosis bilaterally.

FINDINGS:
There are bilateral L5 pars interarticularis defects with grade 1 anterolisthesis of L5 on S1 (approximately 8 mm). Mild edema at the right pars defect. Vertebral body heights are preserved. The conus terminates at L1.
From T12-L1 through L3-4 the discs are normal in height and signal without stenosis.
L4-5: Mild disc desiccation. No stenosis.
L5-S1: Anterolisthesis with uncovering of the disc and a pseudobulge. The central canal is elongated but not stenotic. There is severe left and moderate-to-severe right neural foraminal stenosis with compression of the exiting L5 nerve roots, more so on the left.

IMPRESSION:
1. Bilateral L5 spondylolysis with grade 1 isthmic anterolisthesis.
2. Severe bilateral L5-S1 foraminal stenosis, left worse than right.
""", "000 000 000 000 000 033")

add("G072", "impression raises findings via side-comparison range (R>L)", """
MRI LUMBAR SPINE
HISTORY: Right thigh pain.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

COMPARISON: None.

FINDINGS:
Normal alignment. Vertebral body heights and marrow signal are normal. Conus terminates at L1.
T12-L1 through L2-L3 are unremarkable.
L3-L4: Disc bulge and facet arthropathy. Mild canal stenosis. Mild bilateral foraminal narrowing.
L4-L5: Mild disc bulge. No canal stenosis. Foramina patent.
L5-S1: Unremarkable.

IMPRESSION:
Mild canal stenosis and mild to moderate bilateral foraminal narrowing at L3-L4, R>L.
""", "000 000 000 121 000 000")

add("G073", "post-operative multilevel laminectomy, adjacent-segment stenosis, prior MRI comparison", """
EXAM: MRI lumbar spine with and without gadolinium
HISTORY: Status post L3-L4 laminectomies 2017. Persistent back pain.
COMPARISON: MRI 2016 (preoperative), which showed severe canal stenosis at L3-4 and L4-5.

FINDINGS: Postoperative changes of bilateral laminectomies at L3 and L4 with widely patent central canal at L3-4 and L4-5. No abnormal enhancement or fluid collection. Residual moderate right foraminal narrowing at L4-5 due to facet hypertrophy. The left L4-5 foramen and both L3-4 foramina are patent.
L5-S1: Disc desiccation and small bulge. Mild canal stenosis. Mild left foraminal narrowing. Right foramen patent.
L2-3: New since 2016, disc bulge and facet arthropathy with moderate canal stenosis just above the laminectomy. Foramina patent.
T12-L1, L1-2: Normal.
Alignment: Stable 3 mm anterolisthesis L4 on L5.

IMPRESSION:
1. Status post L3 and L4 laminectomies with widely patent canal at the operated levels.
2. New moderate canal stenosis at L2-3 (adjacent segment).
3. Moderate right L4-5 foraminal stenosis.
""", "000 000 200 000 020 101")

add("G074", "spaced level names 'L4 - L5', 'worse on the left'", """
MRI LUMBAR SPINE W/O
Indication: Left S1 radiculopathy.
Comparison: none.
Findings: Normal alignment. The conus medullaris is normal.
T12 - L1 through L3 - L4: no canal or foraminal stenosis.
L4 - L5: mild diffuse bulge, mild facet arthropathy; no canal stenosis; mild bilateral foraminal narrowing, worse on the left.
L5 - S1: left paracentral extrusion; moderate canal stenosis; severe left lateral recess stenosis; foramina patent.
Impression: L5 - S1 left paracentral extrusion with moderate canal stenosis and severe left lateral recess stenosis, likely compressing the left S1 nerve root.
""", "000 000 000 000 011 200")

add("G075", "'At L3-L4 there is' narrative, 'moderate on the right and mild on the left', right worse than left range", """
MRI LUMBAR SPINE WITHOUT CONTRAST
HISTORY: Neurogenic claudication.

FINDINGS:
There is moderate multilevel lumbar spondylosis. Alignment is maintained without listhesis. There is no fracture. Conus terminates at L1 and is normal.
At T12-L1 and L1-L2 there is no stenosis.
At L2-L3 there is a small disc bulge with mild canal stenosis; the foramina are not narrowed.
At L3-L4 there is a disc bulge and facet hypertrophy with moderate canal stenosis and bilateral foraminal stenosis, moderate on the right and mild on the left.
At L4-L5 there is a disc bulge, facet hypertrophy and ligamentum flavum thickening with severe canal stenosis. There is moderate to severe bilateral foraminal narrowing, right worse than left.
At L5-S1 there is a disc bulge without canal stenosis. There is mild right foraminal narrowing; no left foraminal narrowing.

IMPRESSION:
Multilevel spondylosis with severe canal stenosis at L4-L5, moderate at L3-L4 and mild at L2-L3. Multilevel foraminal stenosis as detailed above.
""", "000 000 100 221 332 010")

add("G076", "sacral Tarlov cysts, 'normal in caliber throughout', conus at L1-L2 disc level", """
EXAMINATION: MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: Coccydynia. Sacral pain.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

COMPARISON: None.

FINDINGS: Normal alignment and vertebral body heights. Multiple Tarlov cysts in the sacral canal at S2 and S3, the largest measuring 1.8 cm. The conus ends at the L1-L2 disc level. Mild disc desiccation at L5-S1 without disc herniation. The spinal canal and neural foramina are normal in caliber throughout the lumbar spine. Sacrococcygeal junction unremarkable.

IMPRESSION: 1. Sacral Tarlov cysts, the largest at S2. 2. No lumbar canal or foraminal stenosis.
""", "000 000 000 000 000 000")

add("G077", "impression downgrades findings (severe -> moderate); higher grade kept", """
MRI LUMBAR SPINE WITHOUT CONTRAST
Indication: Neurogenic claudication.
Technique: Sagittal and axial T1 and T2 weighted images.
Comparison: None.

Findings:
Alignment is normal. The conus is normal.
L1-2: Normal.
L2-3: Normal.
L3-4: Disc bulge and facet arthropathy with moderate canal stenosis. Mild right and mild left foraminal narrowing.
L4-5: Disc bulge, facet arthropathy and synovial cyst from the left facet. Severe canal stenosis. Moderate left foraminal narrowing. Mild right foraminal narrowing.
L5-S1: Normal.

Impression:
1. Moderate canal stenosis at L3-4 and L4-5.
2. Left facet synovial cyst at L4-5.
3. Moderate left foraminal stenosis at L4-5.
""", "--- 000 000 211 312 000")

add("G078", "upper lumbar disease at T12-L1 / L1-2, thoracic T11-T12 distractor, conus mass effect", """
EXAM: MRI LUMBAR SPINE
HISTORY: Upper lumbar pain, anterior thigh pain.

FINDINGS:
T11-T12: Small central disc protrusion with mild canal stenosis.
T12-L1: Central disc extrusion. There is moderate canal stenosis. Foramina are patent.
L1-L2: Right foraminal disc protrusion with moderate right foraminal stenosis. Mild canal stenosis. Left foramen patent.
L2-L3: Mild bulge. Mild bilateral foraminal narrowing. No canal stenosis.
L3-L4 through L5-S1: Normal disc height and signal. No stenosis.
The conus terminates at L1; there is mild mass effect on the conus from the T12-L1 extrusion without signal abnormality.

IMPRESSION:
1. T12-L1 central disc extrusion with moderate canal stenosis and mild mass effect on the conus.
2. Right foraminal protrusion at L1-2 with moderate right foraminal stenosis.
3. Mild canal stenosis at T11-12.
""", "200 120 011 000 000 000")

add("G079", "global foraminal-only statement, canal graded per level", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Neurogenic claudication.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

COMPARISON: None.

FINDINGS: Alignment, vertebral body heights and marrow signal are normal. The conus terminates at L1. The neural foramina are patent at all levels.
At L3-4 there is a mild disc bulge with mild canal stenosis.
At L4-5 there is a broad disc bulge and facet arthropathy with moderate canal stenosis.
At L5-S1 there is a small central protrusion without canal stenosis.

IMPRESSION: Moderate canal stenosis at L4-5. Mild canal stenosis at L3-4.
""", "-00 -00 -00 100 200 000")

add("G080", "typos in stenosis / foraminal / bilateral words", """
MRI LUMBAR SPINE W/O CONTRAST
HISTORY: LBP
FINDINGS: Alignment normal. Vertebral bodies normal height.  Conus normal
T12-L1: normal
L1-L2: normal
L2-L3: normal
L3-L4: mild disc bulge, no canal steonsis, mild bilatearl nueral foraminal narrowing
L4-L5: disc bulge, moderate facet arthropathy, mild canal stenosis, moderate right nueral foramnial stenosis, mild left
L5-S1: normal
IMPRESSION: Mild canal stenosis L4-5 with moderate right foraminal stenosis
""", "000 000 000 011 121 000")

add("G081", "scoliosis, 'moderately to severely narrowed', 'Negative for stenosis', SUMMARY section", """
EXAMINATION: Lumbar spine MRI
INDICATION: Left leg pain, prior L4-5 injection without relief. Query L3-4 left foraminal stenosis.
COMPARISON: None.
TECHNIQUE: 3T non-contrast protocol.

FINDINGS:
There is mild levoconvex scoliosis with apex at L2-3. Lateral osteophytes on the concave side. The conus is normal.
T12-L1: Negative for stenosis.
L1-L2: Negative for stenosis.
L2-L3: Asymmetric disc bulge to the right. Canal is patent. The right neural foramen is mildly narrowed; left foramen patent.
L3-L4: Left lateral disc osteophyte complex. The left neural foramen is moderately to severely narrowed with effacement of the perineural fat. The right neural foramen is patent. Mild canal stenosis.
L4-L5: Disc bulge with mild canal stenosis and mild bilateral foraminal narrowing.
L5-S1: Small disc bulge. Negative for stenosis.
Right renal cyst, incompletely imaged.

SUMMARY:
1. Moderate to severe left L3-4 foraminal stenosis on the concave side of the scoliotic curve.
2. Mild canal stenosis at L3-4 and L4-5.
""", "000 000 010 103 111 000")

add("G082", "headerless paragraph, 'X is normal' sentences, 'central stenosis', 'In summary'", """
Multiplanar MR imaging of the lumbar spine was performed without contrast. There is no prior for comparison. The lumbar vertebral bodies are normal in height and alignment. The conus is normal. T12-L1 is normal. L1-2 is normal. L2-3 is unremarkable. L3-4 demonstrates mild central stenosis with patent foramina. L4-5 demonstrates disc bulging and facet arthropathy with moderate central stenosis, moderate left foraminal stenosis and mild right foraminal stenosis. L5-S1 demonstrates mild disc bulging without central or foraminal stenosis. In summary, there is moderate central and left foraminal stenosis at L4-5 and mild central stenosis at L3-4.
""", "000 000 000 100 212 000")

add("G083", "post-operative ALIF with adjacent segment disease", """
EXAM: MRI LUMBAR SPINE W WO CONTRAST
HISTORY: Prior L5-S1 ALIF. Worsening bilateral leg pain.
COMPARISON: MRI 2021.

FINDINGS:
Postsurgical changes of L5-S1 anterior interbody fusion with an interbody cage and anterior plate. Solid appearing fusion. Canal and foramina at L5-S1 are patent, though evaluation is limited by artifact.
L4-5: Degenerative disc bulge and facet hypertrophy, progressed since 2021, with severe canal stenosis. Moderate right foraminal stenosis. Left foramen mildly narrowed.
L3-4: Mild disc bulge, no canal or foraminal stenosis.
L1-2 and L2-3: Unremarkable.
No epidural fluid collection or abnormal enhancement. Conus normal.

IMPRESSION:
Adjacent segment disease at L4-5 with severe canal stenosis and moderate right foraminal stenosis.
""", "--- 000 000 000 321 000")

add("G084", "very terse slash levels 'L4/L5', L>R / R>L, IMP", """
LUMBAR MRI
Hx: sciatica
L1/L2: normal.
L2/L3: normal.
L3/L4: mild bulge, mild canal stenosis.
L4/L5: moderate canal stenosis, moderate bilateral foraminal stenosis L>R.
L5/S1: no canal stenosis, mild bilateral foraminal stenosis R>L.
IMP: moderate L4/L5 canal and foraminal stenosis.
""", "--- 000 000 1-- 222 011")
# ---------------------------------------------------------------------------
# G085-G104 (holdout)
# ---------------------------------------------------------------------------
add("G085", "'no significant central canal or neuroforaminal stenosis', generic 'mild stenosis', lateral recess", """
MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL: Right leg pain.

FINDINGS: Alignment normal. No fracture. Conus tip at L1.
Disc levels:
L1-2 and L2-3: There is no significant central canal or neuroforaminal stenosis.
L3-4: Disc bulge and facet arthropathy, causing mild stenosis.
L4-5: Right subarticular disc extrusion causing severe right lateral recess stenosis with compression of the traversing right L5 nerve root. Mild central canal stenosis. No significant neuroforaminal stenosis.
L5-S1: There is no significant central canal or neuroforaminal stenosis.

IMPRESSION: Right subarticular L4-5 disc extrusion with severe right lateral recess stenosis compressing the traversing right L5 nerve root. Mild stenosis at L3-4.
""", "--- 000 000 1-- 100 000")

add("G086", "very long follow-up of discitis / epidural abscess with prior grades", """
EXAMINATION: MRI OF THE LUMBAR SPINE WITHOUT AND WITH INTRAVENOUS CONTRAST

CLINICAL HISTORY: 59-year-old man with history of L4-5 discitis-osteomyelitis treated with six weeks of intravenous antibiotics. Follow-up imaging. Prior imaging reported an epidural abscess causing severe canal stenosis at L4-5.

TECHNIQUE: Sagittal T1, T2, STIR and post-contrast T1 fat-saturated images; axial T2 and post-contrast T1 images from L2 through S1. 8 mL of gadoterate meglumine was administered intravenously.

COMPARISON: MRI lumbar spine from 3 months prior. CT-guided disc aspiration from the same period.

FINDINGS:
Osseous structures and discs: There has been interval evolution of the L4-5 discitis-osteomyelitis. There is persistent loss of L4-5 disc height with endplate irregularity. Marrow edema within the L4 and L5 vertebral bodies has decreased. Enhancement of the L4-5 disc space and adjacent endplates is decreased. No new vertebral body collapse. There is a stable 3 mm retrolisthesis of L4 on L5.

Epidural space: The previously seen ventral epidural phlegmon and abscess at L4-5 have largely resolved, with only a thin rim of residual ventral epidural enhancement. The central canal at L4-5, which was previously severely narrowed, is now mildly narrowed. The right L4-5 neural foramen is moderately narrowed due to endplate irregularity and residual enhancing tissue; the left L4-5 neural foramen is mildly narrowed.

Paraspinal soft tissues: The previously seen left psoas abscess has resolved. Residual mild enhancement of the left psoas muscle.

Other levels:
T12-L1 through L2-L3: Normal discs. No stenosis.
L3-L4: Mild disc bulge and facet arthropathy. Mild canal stenosis. Foramina are patent.
L5-S1: Mild disc bulge. No canal stenosis. Mild left foraminal narrowing. The right foramen is patent.

The conus medullaris is normal in position and signal. No intradural abnormal enhancement.

IMPRESSION:
1. Evolving L4-5 discitis-osteomyelitis with decreased marrow edema and enhancement, compatible with response to treatment.
2. Near-complete resolution of the ventral epidural abscess, with improvement of canal stenosis at L4-5 from severe to mild.
3. Moderate right L4-5 neural foraminal narrowing.
4. Resolved left psoas abscess.
""", "000 000 000 100 121 001")

add("G087", "'right and left ... mildly and moderately narrowed, respectively'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Left L4 radicular pain.
COMPARISON: None.

FINDINGS:
Normal alignment. Conus normal at L1.
T12-L1 through L2-L3: No disc bulge or stenosis.
L3-L4: Small disc bulge. No stenosis.
L4-L5: Disc bulge and facet hypertrophy. Mild central canal stenosis. The right and left neural foramina are mildly and moderately narrowed, respectively.
L5-S1: Disc bulge. No canal stenosis. Slight bilateral foraminal narrowing.

IMPRESSION: L4-L5 spondylosis with mild canal stenosis and moderate left foraminal narrowing.
""", "000 000 000 000 112 011")

add("G088", "short nearly normal, 'patent throughout'", """
MRI LUMBAR SPINE
INDICATION: 40F back pain.
FINDINGS: Alignment is normal. Vertebral bodies are normal in height and signal. The conus is normal. L4-5 has a mild disc bulge and mild facet arthropathy. The spinal canal and neural foramina are patent throughout.
IMPRESSION: Mild L4-5 degenerative changes. No stenosis.
""", "000 000 000 000 000 000")

add("G089", "'marked' canal, 'moderately severely narrowed bilaterally', facet effusions", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Severe back pain and bilateral leg weakness.

FINDINGS:
There is a grade 1 degenerative anterolisthesis of L4 on L5. Large bilateral facet joint effusions at L4-5. Conus normal.
L1-2, L2-3: Unremarkable.
L3-4: Broad-based disc bulge. Mild canal stenosis. Mild foraminal narrowing bilaterally.
L4-5: Marked canal stenosis due to anterolisthesis, disc bulge and facet arthropathy. The foramina are moderately severely narrowed bilaterally.
L5-S1: Disc desiccation, no stenosis.

IMPRESSION: Marked canal stenosis and moderately severe bilateral foraminal stenosis at L4-5, in the setting of degenerative anterolisthesis.
""", "--- 000 000 111 333 000")

add("G090", "table with an extra lateral-recess column (distractor)", """
MR LUMBAR SPINE
History: Bilateral sciatica.

Findings:
Alignment normal. No fracture. Conus tip L1.

Level      Canal        R foramen    L foramen    Lateral recesses
T12-L1     normal       normal       normal       normal
L1-L2      normal       normal       normal       normal
L2-L3      normal       mild         normal       normal
L3-L4      mild         mild         mild         mild bilateral
L4-L5      severe       moderate     severe       severe bilateral
L5-S1      normal       mild         normal       normal

Impression: Severe canal stenosis and severe left foraminal stenosis at L4-L5.
""", "000 000 010 111 323 010")

add("G091", "'No high-grade stenosis' impression (uninformative), 'narrowing of both foramina'", """
MRI lumbar spine without contrast
Indication: evaluate for high-grade stenosis prior to epidural injection.

Findings:
T12-L1: No canal or foraminal narrowing.
L1-L2: No canal or foraminal narrowing.
L2-L3: No canal or foraminal narrowing.
L3-L4: Mild disc bulge. Mild narrowing of both foramina. No canal narrowing.
L4-L5: Disc bulge and facet arthropathy with mild central canal narrowing and moderate right foraminal narrowing. The left foramen is mildly narrowed.
L5-S1: Mild disc bulge. No canal narrowing. Mild left foraminal narrowing. The right foramen is patent.

Impression: No high-grade stenosis. Moderate right L4-5 foraminal narrowing. Mild canal narrowing at L4-5.
""", "000 000 000 011 121 001")

add("G092", "follow-up: 'previously moderate ... is now severe', 'L2-3 and above'", """
EXAM: MRI LUMBAR SPINE
HISTORY: Worsening left leg pain.
COMPARISON: MRI 2 years prior.

FINDINGS:
L2-3 and above: Unremarkable, unchanged.
L3-4: Mild disc bulge, unchanged. No stenosis.
L4-5: The previously moderate canal stenosis is now severe, due to enlargement of a central disc extrusion. The foramina are unchanged, mildly narrowed.
L5-S1: New right paracentral protrusion, with new moderate right foraminal narrowing. No canal stenosis. Left foramen normal.
Alignment and marrow signal are unchanged. Conus normal.

IMPRESSION: Progression of L4-5 canal stenosis, now severe. New moderate right L5-S1 foraminal narrowing.
""", "000 000 000 000 311 020")

add("G093", "transitional anatomy (lumbarized S1 with S1-S2 disc)", """
MRI LUMBAR SPINE WITHOUT CONTRAST
HISTORY: Low back pain.

FINDINGS:
Transitional lumbosacral anatomy: there is lumbarization of S1 with a well-formed S1-S2 disc. Numbering assumes 12 rib-bearing thoracic vertebrae. The conus ends at L1.
T12-L1 through L3-L4: Normal.
L4-L5: Mild disc bulge, mild facet arthropathy. Mild canal stenosis. Foramina patent.
L5-S1: Disc bulge with left foraminal protrusion. No canal stenosis. Moderate left foraminal stenosis. Right foramen patent.
S1-S2: Small disc bulge. Mild bilateral foraminal narrowing.

IMPRESSION: Lumbarized S1. Moderate left L5-S1 foraminal stenosis.
""", "000 000 000 000 100 002")

add("G094", "ALL CAPS 'AT L4-5, THERE IS ...' narrative, CT comparison with findings", """
MRI LUMBAR SPINE WITHOUT CONTRAST.
INDICATION: LOW BACK PAIN WITH RIGHT RADICULOPATHY. EVALUATE FOR FORAMINAL STENOSIS.
COMPARISON: CT ABDOMEN 2022 DEMONSTRATING SEVERE DEGENERATIVE CHANGES AT L5-S1.
FINDINGS: AT T12-L1, L1-2 AND L2-3 THERE IS NO STENOSIS. AT L3-4, THERE IS A DISC BULGE WITH MILD TO MODERATE SPINAL CANAL STENOSIS AND MILD BILATERAL FORAMINAL STENOSIS. AT L4-5, THERE IS A DISC BULGE AND FACET ARTHROPATHY WITH MODERATE SPINAL CANAL STENOSIS AND MODERATE RIGHT AND MILD LEFT FORAMINAL STENOSIS. AT L5-S1, THERE IS DISC HEIGHT LOSS AND ENDPLATE SPURRING WITH SEVERE RIGHT AND MODERATE LEFT FORAMINAL STENOSIS. THE CANAL IS PATENT AT L5-S1.
IMPRESSION:
1. SEVERE RIGHT L5-S1 FORAMINAL STENOSIS.
2. MODERATE SPINAL CANAL STENOSIS AT L3-4 AND L4-5.
""", "000 000 000 211 221 032")

add("G095", "prose, lateral recess distractors, 'Otherwise, there is no canal or foraminal stenosis'", """
MRI LUMBAR SPINE
History: 52-year-old with left leg pain and paresthesias in the L5 distribution.
Findings: The conus terminates at L1. The vertebral bodies are normal in height. There is mild multilevel disc desiccation. The L4-5 disc demonstrates a left paracentral protrusion that narrows the left lateral recess and contacts the traversing left L5 nerve root. There is no canal stenosis at L4-5 and the neural foramina at this level are patent. At L5-S1 there is a shallow disc bulge and both lateral recesses are mildly narrowed; mild canal stenosis is present. Otherwise, there is no canal or foraminal stenosis.
Impression: Left paracentral L4-5 protrusion contacting the traversing left L5 nerve root.
""", "000 000 000 000 000 1--")

add("G096", "terse post-laminectomy 'widely patent canal'", """
MRI L-spine w/wo. Hx: prior L4-5 laminectomy. Status post L4-5 laminectomy with a widely patent canal. No recurrent disc. Mild bilateral foraminal narrowing at L4-5. L5-S1: mild bulge, no stenosis. L3-4: moderate canal stenosis above the laminectomy. Imp: widely patent canal at L4-5. Moderate L3-4 canal stenosis.
""", "--- --- --- 2-- 011 000")

add("G097", "'mild right foraminal stenosis and moderate on the left', 'severely stenotic canal'", """
EXAM: MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: Leg pain. r/o cauda equina.

FINDINGS:
T12-L1: No abnormality.
L1-L2: No abnormality.
L2-L3: Disc bulge, mild right foraminal stenosis and moderate on the left. The canal is normal.
L3-L4: Central disc extrusion with severely stenotic canal and effacement of CSF around the cauda equina. Mild bilateral foraminal narrowing.
L4-L5: Disc bulge. Mild canal stenosis. Neural foramina patent.
L5-S1: Mild bulge. No stenosis.
The conus is normal in position and signal.

IMPRESSION: Central disc extrusion at L3-L4 with severe canal stenosis. No cauda equina signal abnormality.
""", "000 000 012 311 100 000")

add("G098", "'There is no ... or ...' negations, impression 'No canal stenosis' (study-wide)", """
MRI LUMBAR SPINE
INDICATION: Right L4 radiculopathy.

FINDINGS:
Lumbar alignment is normal. There is no compression fracture. Conus terminates normally.
L1-2: There is no disc herniation or canal stenosis.
L2-3: There is no disc herniation or canal stenosis.
L3-4: There is no disc herniation, canal stenosis or foraminal narrowing.
L4-5: There is a disc bulge with a small right foraminal protrusion and mild right foraminal stenosis. There is no canal stenosis and no left foraminal stenosis.
L5-S1: There is a disc bulge. There is no canal stenosis or foraminal stenosis on either side.

IMPRESSION: Mild right L4-5 foraminal stenosis. No canal stenosis.
""", "0-- 0-- 0-- 000 010 000")

add("G099", "two levels in one heading, foraminal grades in a separate sentence", """
MRI LUMBAR SPINE WITHOUT CONTRAST
Indication: Left L4 radiculopathy.
Technique: Standard noncontrast protocol.
Comparison: None.

Findings:
Alignment and vertebral body heights are normal.
T12-L1 through L2-L3: Unremarkable.
L3-L4: Minimal bulge. Canal and foramina patent.
L4-L5 and L5-S1: Disc bulges and facet hypertrophy with mild canal stenosis at both levels.
Foraminal stenosis at L4-L5 on the left is moderate, and on the right is mild. At L5-S1 the foramina are mildly narrowed bilaterally.
Conus normal.

Impression: Moderate left L4-L5 foraminal stenosis.
""", "000 000 000 000 112 111")

add("G100", "normal apart from one level, 'The remaining levels are normal', thecal sac effacement", """
EXAM: MRI Lumbar Spine without contrast
INDICATION: Right leg numbness. Evaluate for stenosis at L5-S1.
TECHNIQUE: Standard non-contrast lumbar protocol.
COMPARISON: Radiographs show mild disc space narrowing at L5-S1.

FINDINGS:
Alignment: Normal.
Vertebral bodies: Normal height. Small Schmorl's nodes.
Conus: Normal, terminates at L1.
L5-S1: Mild disc bulge with mild effacement of the ventral thecal sac. Mild disc space narrowing. No significant canal or foraminal stenosis.
The remaining levels are normal.

IMPRESSION:
Mild L5-S1 disc bulge without significant stenosis. Otherwise normal MRI of the lumbar spine.
""", "000 000 000 000 000 000")

add("G101", "graded level range 'at L3-4 through L5-S1'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Chronic back pain, bilateral leg paresthesias.

TECHNIQUE: Sagittal T1, T2 and STIR and axial T2 images of the lumbar spine were obtained on a 1.5 T scanner without intravenous contrast.

FINDINGS: Five lumbar-type vertebrae. Mild lumbar spondylosis. Disc bulges are present from L3-4 through L5-S1. There is mild bilateral foraminal narrowing at L3-4 through L5-S1. The central canal is mildly narrowed at L4-5; the canal is patent at L3-4 and L5-S1. T12-L1 through L2-3 are normal. Conus normal.

IMPRESSION: Mild multilevel spondylosis with mild bilateral foraminal narrowing from L3-4 to L5-S1 and mild canal stenosis at L4-5.
""", "000 000 000 011 111 011")

add("G102", "en-dash level names, impression downgrades right foramen (moderate kept)", """
MRI LUMBAR SPINE
CLINICAL HISTORY: Right L5 radiculopathy. Prior L4-5 epidural steroid injection.

FINDINGS:
Alignment: Mild straightening.
Marrow: Modic type 1 changes at L4–L5.
DISC LEVELS:
T12–L1 to L2–L3: Normal.
L3–L4: Minimal bulge; no stenosis.
L4–L5: Right paracentral and foraminal protrusion. Moderate narrowing of the right neural foramen. Mild central canal stenosis. Left foramen mildly narrowed.
L5/S1: Disc desiccation; no stenosis.

IMPRESSION:
Right paracentral/foraminal L4–L5 disc protrusion with mild right foraminal stenosis and mild central canal stenosis; Modic type 1 changes.
""", "000 000 000 000 121 000")

add("G103", "adolescent normal study, spondylolysis question, conus at L1-L2", """
MRI LUMBAR SPINE WITHOUT CONTRAST
CLINICAL HISTORY: 16-year-old athlete with low back pain. Evaluate for spondylolysis.

TECHNIQUE: Sagittal T1, T2, STIR; axial T2; coronal STIR.

FINDINGS:
No pars interarticularis defect or stress reaction. Normal alignment. Vertebral bodies normal in height and signal. Mild disc desiccation at L5-S1 with a small central protrusion and annular fissure. The conus medullaris terminates at L1-L2 with normal signal. No spinal canal or neural foraminal stenosis at any level. Paraspinal muscles symmetric.

IMPRESSION:
1. No spondylolysis.
2. Small central L5-S1 disc protrusion with annular fissure, without stenosis.
""", "000 000 000 000 000 000")

add("G104", "'Narrowing of the right neural foramen is moderate', 'left-sided'", """
MRI LUMBAR SPINE WITHOUT CONTRAST
INDICATION: Right L4 radiculopathy.
COMPARISON: None.

FINDINGS:
Alignment is normal. No fracture. Marrow signal is normal. The conus is unremarkable.
T12-L1 to L3-L4: No significant stenosis.
L4-L5: Circumferential disc bulge with right-sided facet hypertrophy. Narrowing of the right neural foramen is moderate. The left neural foramen is normal. No significant canal stenosis.
L5-S1: Circumferential disc bulge. Mild left-sided neural foraminal narrowing. The canal is normal in caliber. The right neural foramen is normal.

IMPRESSION: Moderate right L4-L5 neural foraminal stenosis.
""", "000 000 000 000 020 001")


# ---------------------------------------------------------------------------
def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ids = [r[0] for r in R]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert ids == ["G%03d" % i for i in range(1, len(ids) + 1)], "ids not sequential"
    rows = []
    for i, (rid, style, text, lab) in enumerate(R):
        rows.append({
            "report_id": rid,
            "split": "tune" if i < N_TUNE else "holdout",
            "style": style,
            "text": text,
            "labels": parse_labels(lab),
        })
    with open(os.path.join(here, "reports.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("wrote", len(rows), "reports")


if __name__ == "__main__":
    main()
