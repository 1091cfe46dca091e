"""Tissue labels at patient coordinates, masks, and MR-like intensities.

Everything is evaluated at pixel centres from the analytic anatomy, so the mask
of a pixel and the tissue that produced its intensity are the same thing by
construction. Partial volume is imitated by a slight blur of the intensity image
(cheaper than supersampling and good enough for 3-4 mm slices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from studies.synth.anatomy import N_DISCS, Anatomy, taper_progress

# Tissue ids. Discs get one id per disc so each disc can have its own signal.
AIR, FAT, MUSCLE, SOFT, VESSEL, BONE_POST, FACET_JOINT = 0, 1, 2, 3, 4, 5, 6
FORAMEN_FAT, ROOT, LIGAMENT, CSF, CORD, MARROW, CORTEX = 7, 8, 9, 10, 11, 12, 13
# The sacrum's body is painted with its own ids (same signal as a lumbar body) so that
# its mask class can differ: level names are counted from it.
SACRAL_MARROW, SACRAL_CORTEX = 14, 15
ANNULUS0 = 16  # + disc index
NUCLEUS0 = ANNULUS0 + N_DISCS
HERNIATION0 = NUCLEUS0 + N_DISCS
N_TISSUES = HERNIATION0 + N_DISCS

# Mask classes (the values of inference.ml.classes, which imports nothing from here).
MASK_BACKGROUND, MASK_VERTEBRA, MASK_DISC, MASK_CANAL, MASK_SACRUM = 0, 1, 2, 3, 4

_MASK_LUT = np.zeros(N_TISSUES, dtype=np.uint8)
_MASK_LUT[[MARROW, CORTEX]] = MASK_VERTEBRA  # bodies only: posterior elements are background
_MASK_LUT[[SACRAL_MARROW, SACRAL_CORTEX]] = MASK_SACRUM
_MASK_LUT[ANNULUS0:N_TISSUES] = MASK_DISC
_MASK_LUT[[CSF, CORD]] = MASK_CANAL


def mask_from_tissue(tissue: np.ndarray) -> np.ndarray:
    """Segmentation classes (0 bg, 1 vertebral body, 2 disc, 3 dural sac, 4 sacrum)."""
    return _MASK_LUT[tissue]


def _bump(d: np.ndarray, half: np.ndarray | float) -> np.ndarray:
    """Smooth compact bump, 1 at d=0 and 0 beyond |d| >= half."""
    u = np.clip(np.abs(d) / half, 0.0, 1.0)
    return np.cos(0.5 * np.pi * u) ** 2


class _Params:
    """The anatomy's arrays as float32, so float32 pixel maths never upcasts."""

    # (set in __init__ by name, from the Anatomy fields of the same names)
    body_lo: np.ndarray
    body_hi: np.ndarray
    body_a: np.ndarray
    body_b: np.ndarray
    body_conc: np.ndarray
    body_taper_a: np.ndarray
    body_taper_b: np.ndarray
    spinous_len: np.ndarray
    disc_s: np.ndarray
    disc_h: np.ndarray
    disc_a: np.ndarray
    disc_b: np.ndarray
    bulge: np.ndarray
    hern_c: np.ndarray
    hern_r: np.ndarray
    canal_p0: np.ndarray
    canal_w: np.ndarray
    flavum: np.ndarray
    recess_cut: np.ndarray
    foramen_d: np.ndarray
    foramen_h: np.ndarray

    def __init__(self, anat: Anatomy) -> None:
        f = np.float32
        for name in (
            "body_lo",
            "body_hi",
            "body_a",
            "body_b",
            "body_conc",
            "body_taper_a",
            "body_taper_b",
            "spinous_len",
            "disc_s",
            "disc_h",
            "disc_a",
            "disc_b",
            "bulge",
            "hern_c",
            "hern_r",
            "canal_p0",
            "canal_w",
            "flavum",
            "recess_cut",
            "foramen_d",
            "foramen_h",
        ):
            setattr(self, name, np.asarray(getattr(anat, name), dtype=f))
        a0_s, a0_q = anat.canal_a0_knots()
        self.a0_s, self.a0_q = a0_s.astype(f), a0_q.astype(f)
        self.disc_mid = 0.5 * (self.disc_s[:-1] + self.disc_s[1:])
        self.conc_max = np.maximum(self.body_conc[:-1], self.body_conc[1:])
        self.has_h = self.hern_r[:, 2] > 0
        self.hern_safe = np.where(self.has_h[:, None], self.hern_r, f(1.0))


def _interp(s: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    return np.interp(s, xp, fp).astype(np.float32)


def tissue_at(anat: Anatomy, pts: np.ndarray) -> np.ndarray:
    """Tissue id at each patient LPS point (N, 3)."""
    f = np.float32
    x, y, z = (
        v.astype(f) for v in anat.local_xyz(np.asarray(pts, dtype=np.float64).reshape(-1, 3))
    )
    return _tissue_local(anat, x, y, z)


def tissue_on_plane(
    anat: Anatomy,
    origin: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    spacing: float,
    rows: int,
    cols: int,
) -> np.ndarray:
    """Tissue ids (rows, cols) at the pixel centres of one image plane."""
    # Local coordinates are affine in the pixel indices: no (N, 3) point array needed.
    lo = anat.rot.T @ (np.asarray(origin, dtype=np.float64) - anat.origin)
    lr = anat.rot.T @ np.asarray(row, dtype=np.float64) * spacing
    lc = anat.rot.T @ np.asarray(col, dtype=np.float64) * spacing
    ii = np.arange(rows, dtype=np.float32)[:, None]
    jj = np.arange(cols, dtype=np.float32)[None, :]
    x, y, z = (
        np.float32(lo[c]) + ii * np.float32(lc[c]) + jj * np.float32(lr[c]) for c in range(3)
    )
    return _tissue_local(anat, x.ravel(), y.ravel(), z.ravel()).reshape(rows, cols)


def _tissue_local(anat: Anatomy, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Tissue ids from the spine's local frame; later painting wins."""
    s, q = anat.curvilinear(y, z)
    P = _Params(anat)
    ax = np.abs(x)
    b_mean = float(np.mean(anat.body_b[1:]))
    # The back follows a flatter arc than the spine (real backs are less lordotic).
    back = anat.skin_depth(y, z)
    out = np.where(q > -0.3 * b_mean, MUSCLE, SOFT).astype(np.uint8)
    out[back > anat.skin_q - anat.subcut_fat] = FAT
    out[y < anat.front_q + 0.4 * anat.subcut_fat] = FAT
    out[(back > anat.skin_q) | (y < anat.front_q) | (ax > 170.0)] = AIR
    ves = np.flatnonzero((q < -b_mean + 10) & (q > -b_mean - 35) & (ax < 40))
    if ves.size:
        _paint_vessels(anat, out, ves, s[ves], q[ves], x[ves], b_mean)
    p0_max = float(np.max(anat.canal_p0))
    near = np.flatnonzero(
        (ax < 75.0)
        & (q > -45.0)
        & (q < p0_max + 45.0)
        & (back < anat.skin_q - anat.subcut_fat)
        & (s < anat.body_hi[-1] + 10.0)
        & (s > anat.body_lo[0] - 5.0)
    )
    if near.size:
        out[near] = _spine(anat, P, out[near], s[near], q[near], x[near])
    return out


def _paint_vessels(
    anat: Anatomy,
    out: np.ndarray,
    idx: np.ndarray,
    s: np.ndarray,
    q: np.ndarray,
    x: np.ndarray,
    b_mean: float,
) -> None:
    qa = -b_mean - 13.0
    above = s > anat.aorta_bif_s
    aorta = above & ((x - 14.0) ** 2 + (q - qa) ** 2 < 10.0**2)
    off = 14.0 + 0.35 * np.maximum(anat.aorta_bif_s - s, 0.0)
    iliac = ~above & (np.minimum((x - off) ** 2, (x + off) ** 2) + (q - qa) ** 2 < 6.5**2)
    ivc = ((x + 17.0) / 12.0) ** 2 + ((q - qa - 3.0) / 8.0) ** 2 < 1.0
    out[idx[aorta | iliac | ivc]] = VESSEL


def _spine(
    anat: Anatomy, P: _Params, out: np.ndarray, s: np.ndarray, q: np.ndarray, x: np.ndarray
) -> np.ndarray:
    out = out.copy()
    ax = np.abs(x)
    side = (x <= 0).astype(np.intp)  # 0 = left (x > 0), 1 = right

    k = np.searchsorted(P.disc_mid, s)  # nearest disc
    j = np.searchsorted(P.disc_s, s)  # body index: bodies are split at disc centres
    ds = s - P.disc_s[k]
    hd = P.disc_h[k]
    fbump = _bump(ds, hd / 2 + 5.0)
    p0 = _interp(s, P.disc_s, P.canal_p0)
    w = _interp(s, P.disc_s, P.canal_w)
    a0 = _interp(s, P.a0_s, P.a0_q)
    p = p0 - P.flavum[k] * fbump
    cut = P.recess_cut[k, side] * fbump
    lumbar = s > P.body_hi[0] - 2.0  # above the sacrum: mobile segments
    sacral = (s > P.body_lo[0] + 10.0) & ~lumbar

    # interspinous ligament between the spinous processes (fat behind their tips)
    out[(ax < 2.5) & (q > p0 + 4.0) & (q < p0 + 34.0)] = LIGAMENT

    # posterior elements: pedicle/facet column, laminae, spinous processes
    post = np.flatnonzero(q > 0)
    sp, qp, axp, wp, p0p, kp = s[post], q[post], ax[post], w[post], p0[post], k[post]
    jp = j[post]
    lat = (axp > wp + 1.5) & (axp < wp + 14.0)
    col = lat & (qp < p0p + 10) & (sp > P.body_lo[0] + 10.0)
    out[post[col]] = BONE_POST
    jh = P.body_hi[jp] - P.body_lo[jp]
    jc = 0.5 * (P.body_hi[jp] + P.body_lo[jp])
    lum_p = lumbar[post]
    lam = lum_p & (sp > jc - 0.55 * jh) & (sp < jc + 0.3 * jh)
    out[post[lam & (qp > p0p + 1.5) & (qp < p0p + 8.0) & (axp < wp + 14.0)]] = BONE_POST
    qs = qp - p0p - 6.0
    spin = lum_p & (axp < 3.2) & (qs > 0) & (qs < P.spinous_len[jp])
    spin &= np.abs(sp - (jc - 0.1 * jh - 0.2 * qs)) < 0.3 * jh
    out[post[spin]] = BONE_POST
    sac_p = sacral[post]
    sac_post = sac_p & (qp > p0p + 1.5) & (qp < p0p + 10.0) & (axp < wp + 20.0)
    sac_lat = sac_p & (axp > wp + 1.5) & (axp < 40.0) & (qp < p0p + 10.0)
    out[post[sac_post | sac_lat]] = BONE_POST
    dsp = ds[post]
    joint = col & lum_p & (np.abs(dsp - 2.0 - 0.25 * (qp - p0p)) < 0.6) & (qp > p0p - 3.0)
    out[post[joint]] = FACET_JOINT

    # neural foramina: fat ellipse carved out of the column, root in its upper part
    fl = np.flatnonzero(lat & lum_p & (qp < p0p + 10))
    if fl.size:
        kf, sdf = kp[fl], side[post[fl]]
        fh, fd = P.foramen_h[kf, sdf], P.foramen_d[kf, sdf]
        fs = P.disc_s[kf] - P.disc_h[kf] / 2 - 1.0 + fh / 2
        fq = 0.6 * P.disc_b[kf] + fd / 2
        sf, qf = sp[fl], qp[fl]
        foramen = ((sf - fs) / (fh / 2)) ** 2 + ((qf - fq) / (fd / 2)) ** 2 < 1.0
        out[post[fl[foramen]]] = FORAMEN_FAT
        rr = np.minimum(2.3, np.minimum(0.38 * fd, 0.25 * fh))
        root = foramen & ((sf - (fs + fh / 2 - rr - 1.5)) ** 2 + (qf - fq) ** 2 < rr**2)
        out[post[fl[root]]] = ROOT

    # epidural fat, ligamentum flavum, lateral recess encroachment (all behind the bodies)
    zone = np.flatnonzero((s > anat.sac_end_s - 25.0) & (ax < w + 3.0) & (q > 0))
    sz, qz, az, wz, p0z, a0z, pz, cz = (v[zone] for v in (s, q, ax, w, p0, a0, p, cut))
    box = (az < wz + 1.5) & (qz > a0z - anat.epidural_gap - 1.0) & (qz < p0z + 1.5)
    out[zone[box]] = SOFT  # veins and connective tissue beside the sac
    # epidural fat: a thin anterior layer and the posterior fat pad, not a bright box
    epi = box & ((qz < a0z + 0.5) | (qz > p0z - 0.35 * (p0z - a0z)))
    out[zone[epi]] = FAT
    out[zone[(qz >= pz) & (qz < p0z + 1.5)]] = LIGAMENT
    recess = (cz > 0.05) & (az > wz - cz) & (az < wz + 1.5) & (qz > a0z) & (qz < pz)
    out[zone[recess]] = LIGAMENT

    # dural sac (CSF) with the conus above its tip
    taper = np.sqrt(np.clip((sz - anat.sac_end_s) / 15.0, 0.0, 1.0))
    wt = np.maximum(wz * taper, 1e-6)
    qc = 0.5 * (a0z + p0z)
    hq = np.maximum(0.5 * (p0z - a0z) * taper, 1e-6)
    sac = (sz > anat.sac_end_s) & (qz > a0z) & (qz < pz) & (az < wz - cz)
    sac &= (x[zone] / wt) ** 2 + ((qz - qc) / hq) ** 2 < 1.0
    out[zone[sac]] = CSF
    cone = np.clip((sz - anat.conus_s) / 25.0, 0.0, 1.0) * 4.5
    cord = sac & (x[zone] ** 2 + (qz - qc) ** 2 < cone**2)
    out[zone[cord]] = CORD

    # discs (annulus, nucleus, herniation)
    dz = np.flatnonzero((np.abs(ds) < hd / 2 + 12.0) & (ax < 45.0) & (q < 35.0))
    kd, sd, qd, xd, dsd, hdd = k[dz], s[dz], q[dz], x[dz], ds[dz], hd[dz]
    bul = P.bulge[kd] * np.sqrt(np.clip(1.0 - (dsd / (hdd / 2)) ** 2, 0.0, 1.0))
    da, db = P.disc_a[kd], P.disc_b[kd]
    cm = P.conc_max[kd]
    disc = np.abs(dsd) < hdd / 2 + cm + 0.5
    disc &= (xd / (da + bul)) ** 2 + (qd / (db + bul)) ** 2 < 1.0
    disc &= qd < 0.85 * db + bul
    hc, hr = P.hern_c[kd], P.hern_safe[kd]
    foot = 1.0 - ((sd - hc[:, 0]) / hr[:, 0]) ** 2 - ((xd - hc[:, 1]) / hr[:, 1]) ** 2
    dome = hc[:, 2] + hr[:, 2] * np.sqrt(np.clip(foot, 0.0, None))
    hern = P.has_h[kd] & (foot > 0) & (qd < dome) & (qd > hc[:, 2] - 3.0)
    nuc = disc & (
        (dsd / (0.35 * hdd + cm)) ** 2
        + (xd / (0.55 * da)) ** 2
        + ((qd + 0.1 * db) / (0.5 * db)) ** 2
        < 1.0
    )
    out[dz[disc]] = ANNULUS0 + kd[disc]
    out[dz[hern]] = HERNIATION0 + kd[hern]
    out[dz[nuc]] = NUCLEUS0 + kd[nuc]

    # vertebral bodies and sacrum: cortex rim around marrow. Endplate concavities never
    # reach the disc centre, so body j (split at disc centres) is the only candidate.
    bz = np.flatnonzero((np.abs(q) < 22.0) & (ax < 45.0))
    jb, sb, qb, xb = j[bz], s[bz], q[bz], x[bz]
    sacral_body = jb == 0
    for shrink, tissue, sacral in ((0.0, CORTEX, SACRAL_CORTEX), (1.2, MARROW, SACRAL_MARROW)):
        inside = _in_body(P, jb, sb, qb, xb, shrink)
        out[bz[inside & ~sacral_body]] = tissue
        out[bz[inside & sacral_body]] = sacral
    return out


def _in_body(
    P: _Params, j: np.ndarray, s: np.ndarray, q: np.ndarray, x: np.ndarray, shrink: float
) -> np.ndarray:
    lo, hi = P.body_lo[j], P.body_hi[j]
    taken = taper_progress((hi - s) / (hi - lo))
    aa = P.body_a[j] * (1 - P.body_taper_a[j] * taken) - shrink
    bb = P.body_b[j] * (1 - P.body_taper_b[j] * taken) - shrink
    rho2 = (x / aa) ** 2 + (q / bb) ** 2
    wgt = np.clip(1.0 - rho2, 0.0, 1.0)
    conc = P.body_conc[j]
    # The sacrum's top endplate is concave like the others; its lower end is not an endplate.
    conc_lo = np.where(j == 0, np.float32(0.0), conc)
    return (
        (rho2 < 1.0)
        & (q < 0.85 * bb + 0.85 * shrink)
        & (s > lo + conc_lo * wgt + shrink)
        & (s < hi - conc * wgt - shrink)
    )


# ----- intensities --------------------------------------------------------------------


@dataclass
class Contrast:
    """Per-study tissue signal tables (relative units, before noise and bias)."""

    t1: np.ndarray
    t2: np.ndarray


def make_contrast(anat: Anatomy, rng: np.random.Generator, age: int) -> Contrast:
    """T1/T2 signal per tissue id, randomly perturbed so no value is a fixed fingerprint."""
    t1 = np.zeros(N_TISSUES)
    t2 = np.zeros(N_TISSUES)
    marrow_fat = 0.45 + 0.25 * (age - 25) / 55.0  # marrow gets fattier (T1 brighter) with age
    base = {
        AIR: (0.0, 0.0),
        FAT: (0.95, 0.75),
        MUSCLE: (0.33, 0.22),
        SOFT: (0.45, 0.42),
        VESSEL: (0.06, 0.05),
        BONE_POST: (marrow_fat * 0.95, 0.38),
        FACET_JOINT: (0.2, 0.55),
        FORAMEN_FAT: (0.92, 0.68),
        ROOT: (0.35, 0.3),
        LIGAMENT: (0.12, 0.1),
        CSF: (0.14, 1.0),
        CORD: (0.4, 0.35),
        MARROW: (marrow_fat, 0.42),
        CORTEX: (0.06, 0.05),
    }
    for tid, (v1, v2) in base.items():
        t1[tid], t2[tid] = v1, v2
    for k in range(N_DISCS):
        n = anat.nucleus_t2[k]
        t1[ANNULUS0 + k], t2[ANNULUS0 + k] = 0.3, 0.18 + 0.07 * n
        t1[NUCLEUS0 + k], t2[NUCLEUS0 + k] = 0.36, 0.22 + 0.68 * n
        t1[HERNIATION0 + k], t2[HERNIATION0 + k] = 0.3, 0.3 + 0.3 * n
    t1 *= rng.uniform(0.88, 1.12, N_TISSUES)
    t2 *= rng.uniform(0.88, 1.12, N_TISSUES)
    for table in (t1, t2):
        table[SACRAL_MARROW], table[SACRAL_CORTEX] = table[MARROW], table[CORTEX]
    return Contrast(t1=t1, t2=t2)


@dataclass
class Appearance:
    """Per-series acquisition look: bias field, noise, contrast curve, scaling."""

    bias_coef: np.ndarray  # linear and quadratic terms of a smooth log-bias field
    bias_centre: np.ndarray
    noise: float
    gamma: float
    scale: float
    blur: float


def make_appearance(rng: np.random.Generator, centre: np.ndarray) -> Appearance:
    return Appearance(
        bias_coef=rng.normal(0.0, 1.0, 6) * np.array([0.15, 0.25, 0.15, 0.05, 0.05, 0.05]),
        bias_centre=centre + rng.normal(0.0, 20.0, 3),
        noise=float(rng.uniform(0.015, 0.05)),
        gamma=float(rng.uniform(0.85, 1.15)),
        scale=float(rng.uniform(1800.0, 3600.0)),
        blur=float(rng.uniform(0.45, 0.8)),
    )


def bias_field(look: Appearance, xyz: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Smooth multiplicative bias at patient coordinates (like a receive coil profile)."""
    d = [(xyz[c] - look.bias_centre[c]) / 100.0 for c in range(3)]
    c = look.bias_coef
    log_b = d[0] * c[0] + d[1] * c[1] + d[2] * c[2] + c[3] * d[0] ** 2 + c[4] * d[1] ** 2
    log_b += c[5] * d[2] ** 2
    return np.exp(log_b).astype(np.float32)


def synthesise(
    tissue: np.ndarray,
    bias: np.ndarray,
    table: np.ndarray,
    look: Appearance,
    rng: np.random.Generator,
) -> np.ndarray:
    """MR-like uint16 images (slices, rows, cols) from tissue ids and a bias field."""
    img = table.astype(np.float32)[tissue]
    img = gaussian_filter(img, sigma=(0.0, look.blur, look.blur), mode="nearest")
    img *= bias
    img = np.power(np.clip(img, 0.0, None), np.float32(look.gamma))
    sigma = np.float32(look.noise)
    n1 = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    n2 = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    img = np.sqrt((img + n1) ** 2 + n2**2)  # magnitude of complex Gaussian noise -> Rician
    out = np.clip(np.rint(img * np.float32(look.scale)), 0, 4095)
    return out.astype(np.uint16)


def window(images: np.ndarray) -> tuple[float, float]:
    """A display window (centre, width) covering the 1st-99.5th percentile."""
    lo, hi = np.percentile(images, [1.0, 99.5])
    hi = max(hi, lo + 1.0)
    return round(float((lo + hi) / 2), 1), round(float(hi - lo), 1)


def plane_xyz(
    origin: np.ndarray, row: np.ndarray, col: np.ndarray, spacing: float, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patient x, y, z (each rows x cols) of the pixel centres of one image plane.

    DICOM: the row direction is the direction of increasing column index.
    """
    ii = np.arange(rows, dtype=np.float64)[:, None] * spacing
    jj = np.arange(cols, dtype=np.float64)[None, :] * spacing
    return tuple(origin[c] + ii * col[c] + jj * row[c] for c in range(3))


def unit(v: np.ndarray) -> np.ndarray:
    n = math.sqrt(float(np.dot(v, v)))
    return v / n
