"""Random per-study lumbar anatomy and the per-level truth it encodes.

The spine lives in a curvilinear frame: the centreline is a circular arc in the
spine's own sagittal plane (one arc is enough for a lumbar lordosis and, unlike a
spline, lets every pixel find its arc-length coordinate in closed form). Each
point is described by

* ``s``: arc length along the centreline, mm, increasing towards the head;
* ``q``: signed distance from the centreline along the arc's normal, mm,
  positive = posterior (the arc's centre of curvature lies posteriorly);
* ``x``: lateral offset, mm, positive = patient left (as DICOM LPS).

Endplates are perpendicular to the arc, so discs come out as wedges whose angle
follows the lordosis. Vertebral bodies, discs and the dural sac are described
per level by a handful of numbers in :class:`Anatomy`; :mod:`studies.synth.render`
turns them into tissue labels at any patient coordinate.

The truth is sampled first (:func:`sample_level_truth`) and the geometry is then
built to match it: the canal's anterior-posterior (AP) diameter at each disc
centre is set to a value inside the grade's range (:data:`AP_RANGES_MM`), a
herniation is a focal blob of disc material reaching into the canal or foramen,
a bulge a circumferential overhang, and foraminal / subarticular grades shrink
the foramen / cut the lateral recess on that side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spine import findings
from spine.labels import LEVELS

# Canal AP diameter (mm) at the disc centre per canal_stenosis grade, measured in
# the midsagittal plane along the disc's mid-plane (the axial slice's column
# direction). The 0.5 mm gaps between classes keep a grade recoverable from the
# drawn diameter even after a segmentation model's ~0.5 mm error.
AP_RANGES_MM: dict[str, tuple[float, float]] = {
    "none": (12.5, 17.0),
    "mild": (10.0, 12.0),
    "moderate": (7.5, 9.5),
    "severe": (4.0, 7.0),
}

# Foramen size relative to the study's normal foramen: (AP depth, height) factors.
FORAMEN_SCALE: dict[str, tuple[float, float]] = {
    "none": (1.0, 1.0),
    "mild": (0.7, 0.85),
    "moderate": (0.5, 0.72),
    "severe": (0.32, 0.6),
}

# How far (mm) the lateral recess is cut back on the stenotic side.
SUBARTICULAR_CUT_MM: dict[str, float] = {"none": 0.0, "mild": 2.0, "moderate": 3.5, "severe": 5.0}

HERNIATION_ZONES: tuple[str, ...] = (
    "central",
    "left_paracentral",
    "right_paracentral",
    "left_foraminal",
    "right_foraminal",
)

# Prevalence rises towards the lower lumbar levels (index = LEVELS order).
_P_DISC = (0.12, 0.18, 0.30, 0.55, 0.50)
_P_HERNIATION_GIVEN_DISC = (0.35, 0.35, 0.40, 0.50, 0.55)
_P_FORAMINAL = (0.03, 0.04, 0.06, 0.12, 0.14)
_CANAL_LEVEL_FACTOR = (0.6, 0.7, 0.85, 1.1, 0.8)
_STENOSIS_GRADES = ("mild", "moderate", "severe")

# Names of every disc drawn, bottom to top; the schema's levels are the first five.
DISC_NAMES: tuple[str, ...] = ("L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2", "T12-L1", "T11-T12")
BODY_NAMES: tuple[str, ...] = ("S", "L5", "L4", "L3", "L2", "L1", "T12", "T11")
N_DISCS = len(DISC_NAMES)
N_BODIES = len(BODY_NAMES)


@dataclass
class LevelTruth:
    """Image truth of one schema level plus what the drawing and report need."""

    level: str
    disc: str = "none"
    zone: str | None = None  # herniation zone, one of HERNIATION_ZONES
    canal_stenosis: str = "none"
    left_foraminal: str = "none"
    right_foraminal: str = "none"
    left_subarticular: str = "none"
    right_subarticular: str = "none"
    degeneration: float = 0.0  # 0 healthy .. 1 black disc; drives nucleus T2 signal
    bulge_mm: float = 0.0
    herniation_mm: float = 0.0
    ap_diameter_mm: float = float("nan")
    # Report-only: a hedged finding at an otherwise normal level (image shows nothing).
    hedge_zone: str | None = None
    # Non-schema findings the report may mention; they never change labels.
    desiccation: bool = False
    modic: int = 0
    annular_fissure: bool = False
    facet_arthropathy: bool = False

    @property
    def uncertain(self) -> bool:
        return self.hedge_zone is not None

    @property
    def abnormal(self) -> bool:
        """True when any finding is present (what a report must mention)."""
        return findings.abnormal(self)


@dataclass
class Anatomy:
    """Geometry of one synthetic spine; arrays are indexed bottom (sacrum) to top."""

    # spine frame -> patient (LPS): p = origin + rot @ (x, y, z)_local
    origin: np.ndarray
    rot: np.ndarray
    radius: float  # lordosis arc radius, mm
    theta0: float  # tilt of the arc's tangent at s=0 (radians, + = top leaning anterior)
    # vertebral bodies (index 0 is the sacrum)
    body_lo: np.ndarray
    body_hi: np.ndarray
    body_a: np.ndarray  # lateral semi-axis
    body_b: np.ndarray  # AP semi-axis
    body_conc: np.ndarray  # endplate concavity depth
    body_taper_a: np.ndarray
    body_taper_b: np.ndarray
    spinous_len: np.ndarray
    # discs (index k between body k and body k+1)
    disc_s: np.ndarray
    disc_h: np.ndarray
    disc_a: np.ndarray
    disc_b: np.ndarray
    bulge: np.ndarray
    # herniation: a dome on the disc's posterior wall. Footprint centre (s, x) and the
    # wall's q there ("base"); semi-axes of the footprint (rs, rx) and the dome's
    # length beyond the base. A dome (not a free ellipsoid) stays attached to the disc
    # wherever it reaches, so it can never leave an island of disc inside the canal.
    # length == 0 -> no herniation.
    hern_c: np.ndarray  # (N_DISCS, 3)
    hern_r: np.ndarray  # (N_DISCS, 3)
    # canal
    epidural_gap: float
    canal_p0: np.ndarray  # posterior canal wall (q) at each disc centre without flavum
    canal_w: np.ndarray  # sac half-width at each disc centre
    flavum: np.ndarray  # flavum thickening at each disc centre (narrows from behind)
    recess_cut: np.ndarray  # (N_DISCS, 2) lateral recess cut, [left, right]
    foramen_d: np.ndarray  # (N_DISCS, 2) foramen AP depth [left, right]
    foramen_h: np.ndarray  # (N_DISCS, 2) foramen height
    sac_end_s: float
    conus_s: float
    # body wall and soft tissue
    skin_q: float  # back skin, measured along a flatter arc (see skin_depth)
    skin_radius: float  # the back follows the lordosis, but less than the spine does
    front_q: float  # anterior abdominal wall, local y
    subcut_fat: float
    aorta_bif_s: float
    nucleus_t2: np.ndarray  # per disc nucleus T2 brightness factor 0..1
    levels: list[LevelTruth] = field(default_factory=list)

    # ----- curvilinear frame -------------------------------------------------
    def _frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p0 = np.array([math.cos(self.theta0), math.sin(self.theta0)])  # posterior normal (y, z)
        a0 = np.array([-math.sin(self.theta0), math.cos(self.theta0)])  # tangent (y, z)
        centre = self.radius * p0
        return p0, a0, centre

    def local_xyz(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient LPS points (N, 3) -> the spine's straight local frame (x, y, z)."""
        pts = np.asarray(pts, dtype=np.float64)
        d = [pts[:, i] - self.origin[i] for i in range(3)]
        # explicit sums: numpy's (N, 3) @ (3, 3) matmul is ~20x slower here
        x, y, z = (
            d[0] * self.rot[0, c] + d[1] * self.rot[1, c] + d[2] * self.rot[2, c] for c in range(3)
        )
        return x, y, z

    def curvilinear(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local (y, z) -> (s, q); keeps the inputs' float dtype."""
        p0, a0, c = self._frame()
        f = np.asarray(y).dtype.type
        dy, dz = y - f(c[0]), z - f(c[1])
        q = f(self.radius) - np.hypot(dy, dz)
        psi = np.arctan2(dy * f(a0[0]) + dz * f(a0[1]), -(dy * f(p0[0]) + dz * f(p0[1])))
        return f(self.radius) * psi, q

    def skin_depth(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Posterior distance from the flatter 'skin arc' through the spine origin."""
        p0, _, _ = self._frame()
        f = np.asarray(y).dtype.type
        r2 = self.skin_radius
        return f(r2) - np.hypot(y - f(r2 * p0[0]), z - f(r2 * p0[1]))

    def to_local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient LPS points (N, 3) -> curvilinear (s, q, x)."""
        x, y, z = self.local_xyz(pts)
        s, q = self.curvilinear(y, z)
        return s, q, x

    def to_patient(self, s: np.ndarray, q: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Curvilinear (s, q, x) -> patient LPS points (N, 3)."""
        s, q, x = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (s, q, x))
        p0, a0, c = self._frame()
        psi = s / self.radius
        uy = -np.cos(psi) * p0[0] + np.sin(psi) * a0[0]
        uz = -np.cos(psi) * p0[1] + np.sin(psi) * a0[1]
        y = c[0] + (self.radius - q) * uy
        z = c[1] + (self.radius - q) * uz
        loc = np.stack([x, y, z], axis=1)
        return loc @ self.rot.T + self.origin

    def tangent(self, s: float) -> np.ndarray:
        """Unit vector along the centreline (towards the head) at s, patient frame."""
        psi = s / self.radius
        p0, a0, _ = self._frame()
        ty = math.sin(psi) * p0[0] + math.cos(psi) * a0[0]
        tz = math.sin(psi) * p0[1] + math.cos(psi) * a0[1]
        return self.rot @ np.array([0.0, ty, tz])

    def posterior(self, s: float) -> np.ndarray:
        """Unit vector along +q (posterior, in the disc plane) at s, patient frame."""
        psi = s / self.radius
        p0, a0, _ = self._frame()
        uy = math.cos(psi) * p0[0] - math.sin(psi) * a0[0]
        uz = math.cos(psi) * p0[1] - math.sin(psi) * a0[1]
        return self.rot @ np.array([0.0, uy, uz])

    def disc_centres(self) -> np.ndarray:
        """Centres (5, 3) of the schema's discs in LEVELS order, patient LPS mm."""
        idx = [DISC_NAMES.index(lv) for lv in LEVELS]
        s = self.disc_s[idx]
        return self.to_patient(s, np.zeros_like(s), np.zeros_like(s))

    def canal_a0_knots(self) -> tuple[np.ndarray, np.ndarray]:
        """Knots (s, q) of the canal's anterior wall: body wall plus epidural gap."""
        mid = 0.5 * (self.body_lo + self.body_hi)
        b_mid = self.body_b * (1 - taper_progress(0.5) * self.body_taper_b)
        s = np.concatenate([mid, self.disc_s])
        b = np.concatenate([b_mid, self.disc_b])
        order = np.argsort(s)
        return s[order], 0.85 * b[order] + self.epidural_gap


def taper_progress(frac: np.ndarray | float) -> np.ndarray:
    """How much of its taper a body has taken at ``frac`` of the way from its top (0) to
    its bottom (1). Only the sacrum tapers: on real midsagittal T2 it keeps S1's depth
    for its first few mm, is down to about half of it 20-40 mm below the L5-S1 disc (22
    real volumes, in the discs' midsagittal slices), and narrows slowly below. A linear
    taper left it as deep as an L5 body over a disc and S1, the very picture the
    localiser must tell from a sacrum (``localisation._sacrum_taper``)."""
    return np.sqrt(np.clip((np.asarray(frac) - 0.1) / 0.9, 0.0, 1.0))


def _grade(rng: np.random.Generator, probs: tuple[float, float, float]) -> str:
    return str(rng.choice(_STENOSIS_GRADES, p=probs))


def sample_level_truth(rng: np.random.Generator, age: int) -> list[LevelTruth]:
    """Draw the per-level image truth (labels only) for one study."""
    age_factor = 0.55 + 0.75 * (age - 25) / 55.0
    out: list[LevelTruth] = []
    for li, name in enumerate(LEVELS):
        t = LevelTruth(level=name)
        if rng.random() < min(0.9, _P_DISC[li] * age_factor):
            if rng.random() < _P_HERNIATION_GIVEN_DISC[li]:
                t.disc = "herniation"
                t.zone = str(rng.choice(HERNIATION_ZONES, p=(0.3, 0.25, 0.25, 0.1, 0.1)))
            else:
                t.disc = "bulge"
        base_p = {"none": 0.04 + 0.015 * li, "bulge": 0.35, "herniation": 0.5}[t.disc]
        if t.zone is not None and t.zone.endswith("foraminal"):
            base_p = 0.1
        if rng.random() < base_p * _CANAL_LEVEL_FACTOR[li] * min(1.2, age_factor + 0.2):
            t.canal_stenosis = _grade(rng, (0.45, 0.33, 0.22))
        for side in ("left", "right"):
            p = _P_FORAMINAL[li] + (0.18 if t.disc != "none" else 0.0)
            forced = t.zone == f"{side}_foraminal"
            if forced or rng.random() < p:
                setattr(t, f"{side}_foraminal", _grade(rng, (0.55, 0.3, 0.15)))
            p_sub = 0.02 + (0.25 if t.canal_stenosis in ("moderate", "severe") else 0.0)
            if t.zone == f"{side}_paracentral":
                p_sub += 0.35
            if rng.random() < p_sub:
                setattr(t, f"{side}_subarticular", _grade(rng, (0.5, 0.35, 0.15)))
        degen = 0.15 * age_factor + {"none": 0.0, "bulge": 0.3, "herniation": 0.45}[t.disc]
        t.degeneration = float(np.clip(degen + rng.normal(0, 0.12), 0.0, 1.0))
        t.desiccation = t.degeneration > 0.45
        if t.disc != "none" and rng.random() < 0.12 * (li + 1) / 3:
            t.modic = int(rng.choice((1, 2)))
        t.annular_fissure = rng.random() < (0.15 if t.disc != "none" else 0.03)
        t.facet_arthropathy = rng.random() < (0.08 + 0.08 * li) * age_factor
        out.append(t)
    # Occasionally the radiologist hedges at a fully normal level (report-only finding).
    normal = [t for t in out if not t.abnormal]
    if normal and rng.random() < 0.15:
        pick = normal[int(rng.integers(len(normal)))]
        pick.hedge_zone = str(
            rng.choice(("central", "left_paracentral", "right_paracentral", "left_foraminal"))
        )
    return out


def _zone_x(zone: str, half_w: float, rng: np.random.Generator) -> float:
    """Lateral centre of a herniation (x > 0 is patient left)."""
    if zone == "central":
        return float(rng.uniform(-1.0, 1.0))
    sign = 1.0 if zone.startswith("left") else -1.0
    if zone.endswith("paracentral"):
        return sign * float(rng.uniform(4.0, 6.5))
    return sign * (half_w + float(rng.uniform(4.0, 7.0)))


def draw_anatomy(rng: np.random.Generator, age: int) -> Anatomy:
    """Draw one spine: truth first, then geometry that realises it.

    The levels' ``ap_diameter_mm`` is not set yet: it is measured on the drawn label
    field (:func:`studies.synth.measure.sample_anatomy` does both).
    """
    levels = sample_level_truth(rng, age)
    by_disc = {t.level: t for t in levels}

    # --- vertebral bodies, bottom (sacrum) to top ------------------------------------
    scale = rng.uniform(0.9, 1.1)
    heights = np.array([62.0, 27, 27.5, 27.5, 27, 26.5, 25, 24]) * scale
    heights[1:] *= rng.uniform(0.94, 1.06, N_BODIES - 1)
    a = np.array([34.0, 23, 22.5, 22, 21, 20, 19, 18]) * rng.uniform(0.9, 1.1)
    b = np.array([17.0, 17, 16.5, 16, 15.5, 15, 14.5, 14]) * rng.uniform(0.9, 1.1)
    a[1:] *= rng.uniform(0.96, 1.04, N_BODIES - 1)
    b[1:] *= rng.uniform(0.96, 1.04, N_BODIES - 1)
    conc = rng.uniform(0.8, 2.0, N_BODIES)
    taper_a = np.zeros(N_BODIES)
    taper_b = np.zeros(N_BODIES)
    taper_a[0], taper_b[0] = 0.55, 0.8  # the sacrum narrows and thins caudally

    # --- discs -------------------------------------------------------------------------
    base_h = np.array([9.5, 10.5, 10.0, 9.0, 8.0, 6.0, 5.5]) * rng.uniform(0.9, 1.1)
    disc_h = base_h * rng.uniform(0.92, 1.08, N_DISCS)
    bulge = rng.uniform(0.0, 0.6, N_DISCS)  # physiological, far below a drawn bulge
    for k, name in enumerate(DISC_NAMES):
        t = by_disc.get(name)
        if t is None:
            continue
        disc_h[k] *= 1.0 - 0.35 * t.degeneration
        if t.disc == "bulge":
            bulge[k] = rng.uniform(1.5, 3.5)
        elif t.disc == "herniation":
            bulge[k] = rng.uniform(1.0, 2.5) if rng.random() < 0.4 else rng.uniform(0.0, 0.8)
        t.bulge_mm = round(float(bulge[k]), 1)

    # stack bodies and discs along s, bottom to top; s=0 is moved to the L3 centre below
    body_lo = np.zeros(N_BODIES)
    body_hi = np.zeros(N_BODIES)
    disc_s = np.zeros(N_DISCS)
    cursor = 0.0
    for j in range(N_BODIES):
        body_lo[j] = cursor
        body_hi[j] = cursor + heights[j]
        cursor = body_hi[j]
        if j < N_DISCS:
            disc_s[j] = cursor + disc_h[j] / 2
            cursor += disc_h[j]
    l3 = BODY_NAMES.index("L3")
    shift = 0.5 * (body_lo[l3] + body_hi[l3])
    body_lo -= shift
    body_hi -= shift
    disc_s -= shift

    disc_a = np.minimum(a[:-1], a[1:])
    disc_a[0] = a[1]  # L5-S1: the sacral alae are not disc
    disc_b = 0.5 * (b[:-1] + b[1:])
    disc_b[0] = b[1]

    # --- herniations ---------------------------------------------------------------------
    canal_w = rng.uniform(8.5, 11.0) * rng.uniform(0.95, 1.05, N_DISCS)
    hern_c = np.zeros((N_DISCS, 3))
    hern_r = np.zeros((N_DISCS, 3))
    for k, name in enumerate(DISC_NAMES):
        t = by_disc.get(name)
        if t is None or t.disc != "herniation" or t.zone is None:
            continue
        length = (
            rng.uniform(2.5, 4.0)
            if (t.zone == "central" and t.canal_stenosis == "none")
            else rng.uniform(3.0, 7.0)
        )
        rx = rng.uniform(4.0, 7.5) if t.zone == "central" else rng.uniform(3.5, 5.5)
        rs = rng.uniform(0.3, 0.45) * disc_h[k] + 1.0
        mig = rng.uniform(-0.4, 0.4) * rs
        xh = _zone_x(t.zone, canal_w[k], rng)
        wall = _disc_wall(disc_a[k], disc_b[k], bulge[k], xh)
        hern_c[k] = (disc_s[k] + mig, xh, wall)
        hern_r[k] = (rs, rx, length)
        t.herniation_mm = round(float(length), 1)

    # --- canal: set the AP diameter at each disc to the grade's value ----------------------
    gap = float(rng.uniform(0.6, 2.0))
    base_d = rng.uniform(15.0, 19.0)
    canal_p0 = np.zeros(N_DISCS)
    flavum = np.zeros(N_DISCS)
    a0_disc = 0.85 * disc_b + gap
    for k, name in enumerate(DISC_NAMES):
        d0 = base_d * rng.uniform(0.94, 1.06)
        t = by_disc.get(name)
        if t is None:
            canal_p0[k] = a0_disc[k] + d0
            continue
        anterior = max(
            a0_disc[k], disc_posterior_midline(disc_b[k], bulge[k], hern_c[k], hern_r[k], disc_s[k])
        )
        lo, hi = AP_RANGES_MM[t.canal_stenosis]
        if t.zone == "central" and t.canal_stenosis == "none":
            hi = 14.5  # keep a non-stenotic central herniation's canal plausible
        target = float(rng.uniform(lo + 0.1, hi - 0.1))
        p0 = a0_disc[k] + d0
        if p0 - anterior - target < 0.3:
            p0 = anterior + target + rng.uniform(0.3, 1.5)
        canal_p0[k] = p0
        flavum[k] = p0 - anterior - target

    recess_cut = np.zeros((N_DISCS, 2))
    d_f = rng.uniform(7.5, 10.0)
    foramen_d = np.full((N_DISCS, 2), d_f) * rng.uniform(0.93, 1.07, (N_DISCS, 2))
    foramen_h = (disc_h + 0.45 * heights[1:])[:, None] * np.ones((1, 2))
    for k, name in enumerate(DISC_NAMES):
        t = by_disc.get(name)
        if t is None:
            continue
        for si, side in enumerate(("left", "right")):
            fd, fh = FORAMEN_SCALE[getattr(t, f"{side}_foraminal")]
            foramen_d[k, si] *= fd
            foramen_h[k, si] *= fh
            cut = SUBARTICULAR_CUT_MM[getattr(t, f"{side}_subarticular")]
            recess_cut[k, si] = cut + (rng.uniform(-0.3, 0.3) if cut else 0.0)

    nucleus_t2 = np.array(
        [
            1.0 - by_disc[n].degeneration if n in by_disc else rng.uniform(0.7, 1.0)
            for n in DISC_NAMES
        ]
    )

    # --- placement in the patient frame ---------------------------------------------------
    yaw = math.radians(rng.uniform(-1.0, 1.0))
    rot = np.array(
        [[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0, 0, 1.0]]
    )
    origin = np.array([rng.uniform(-3, 3), rng.uniform(-15, 15), rng.uniform(-40, 40)])
    p0_mean = float(np.mean(canal_p0))
    radius = float(rng.uniform(230.0, 340.0))
    anat = Anatomy(
        origin=origin,
        rot=rot,
        radius=radius,
        skin_radius=radius * float(rng.uniform(2.5, 4.0)),
        # keeps every disc within 30 degrees of axial (disc-parallel axials stay "axial")
        theta0=math.radians(rng.uniform(-6.0, 2.0)),
        body_lo=body_lo,
        body_hi=body_hi,
        body_a=a,
        body_b=b,
        body_conc=conc,
        body_taper_a=taper_a,
        body_taper_b=taper_b,
        spinous_len=rng.uniform(20.0, 30.0, N_BODIES),
        disc_s=disc_s,
        disc_h=disc_h,
        disc_a=disc_a,
        disc_b=disc_b,
        bulge=bulge,
        hern_c=hern_c,
        hern_r=hern_r,
        epidural_gap=gap,
        canal_p0=canal_p0,
        canal_w=canal_w,
        flavum=flavum,
        recess_cut=recess_cut,
        foramen_d=foramen_d,
        foramen_h=foramen_h,
        sac_end_s=float(body_hi[0] - rng.uniform(30.0, 40.0)),
        conus_s=float(0.5 * (body_lo[5] + body_hi[5]) + rng.uniform(-12.0, 8.0)),
        skin_q=p0_mean + float(rng.uniform(62.0, 85.0)),
        front_q=-float(rng.uniform(150.0, 200.0)),
        subcut_fat=float(rng.uniform(6.0, 22.0)),
        aorta_bif_s=float(0.5 * (body_lo[2] + body_hi[2]) + rng.uniform(-10, 10)),
        nucleus_t2=nucleus_t2,
        levels=levels,
    )
    return anat


def _disc_wall(a_d: float, b_d: float, bulge: float, x: float) -> float:
    """q of the disc's posterior margin at lateral offset x, at mid-disc height."""
    aa, bb = a_d + bulge, b_d + bulge
    ell = bb * math.sqrt(max(0.0, 1.0 - (x / aa) ** 2))
    return min(0.85 * b_d + bulge, ell)


def disc_posterior_midline(
    b_d: float, bulge: float, hern_c: np.ndarray, hern_r: np.ndarray, s: float
) -> float:
    """q of the disc's posterior margin in the midline (x=0) at height s = disc centre."""
    wall = 0.85 * b_d + bulge
    rs, rx, length = hern_r
    if length <= 0:
        return wall
    sc, xc, base = hern_c
    inside = 1.0 - ((s - sc) / rs) ** 2 - (xc / rx) ** 2
    if inside <= 0:
        return wall
    return max(wall, base + length * math.sqrt(inside))
