"""Read lumbar MRI studies with their full physical geometry.

``discover_studies(paths)`` finds the studies under any folders by their DICOM identity (StudyInstanceUID, then
SeriesInstanceUID), wherever the files sit, and names them (see its docstring). ``read_study(path)`` reads one:
a study found that way, a folder holding one study's DICOM files (searched recursively), a NIfTI file (.nii,
.nii.gz) or a MetaImage file (.mha, .mhd). DICOM files are grouped by series and each series into *stacks* (slices sharing one
orientation and lying on one line along their normal: an axial series planned per disc holds one stack per disc).
Sagittal and axial are told apart from the ImageOrientationPatient cosines, never from the description; the T2
series is picked from the description (or a long echo time).

Geometry follows DICOM/ITK: patient coordinates are LPS in mm; a :class:`Volume` holds ``array[k, j, i]`` (slice,
row, column), ``origin`` (the centre of voxel (0, 0, 0)), ``spacing`` (i, j, k) and ``direction`` (3x3, columns are
the unit vectors of the i, j and k axes), so ``patient = origin + direction @ (ijk * spacing)``.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError
from scipy.ndimage import map_coordinates

from spinecore.checks import unwritable

from .datasets import rsna
from .errors import Errors, ImagingError

__all__ = ["Volume", "SeriesInfo", "Study", "StudyResult", "StudySource", "Discovery", "discover_studies",
           "read_study_ids", "read_study", "read_studies", "check_output", "read_volume", "write_volume", "classify_orientation",
           "dominant_plane", "IMAGE_SUFFIXES"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd")
PLANES = {0: "sagittal", 1: "coronal", 2: "axial"}  # the patient axis (x, y, z) the slice normal lies along
OBLIQUE_TOLERANCE_DEG = 30.0
_T2 = re.compile(r"T2(?!\*)|STIR", re.IGNORECASE)
_NOT_T2 = re.compile(r"T1|PD|FLAIR|DWI|DIFF|LOC|SCOUT|SURVEY", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------------------------

def _cosines(iop: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.asarray([float(x) for x in iop], dtype=float)
    if v.shape != (6,):
        raise ImagingError(Errors.I013.format(value=list(iop)))
    row, col = v[:3], v[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-2 or abs(np.linalg.norm(col) - 1) > 1e-2 or abs(row @ col) > 1e-2:
        raise ImagingError(Errors.I013.format(value=list(iop)))
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    return row, col, np.cross(row, col)


def dominant_plane(iop: Sequence[float]) -> str:
    """The plane ('sagittal', 'coronal' or 'axial') whose axis lies nearest the slice normal of ImageOrientationPatient."""
    normal = _cosines(iop)[2]
    return PLANES[int(np.argmax(np.abs(normal)))]


def classify_orientation(iop: Sequence[float], tolerance_deg: float = OBLIQUE_TOLERANCE_DEG) -> str:
    """'sagittal', 'coronal' or 'axial' when the slice normal is within ``tolerance_deg`` of that plane's axis
    (x, y or z), else 'oblique'. ``iop`` is the 6 direction cosines of ImageOrientationPatient (row, column)."""
    normal = _cosines(iop)[2]
    axis = int(np.argmax(np.abs(normal)))
    angle = np.degrees(np.arccos(min(1.0, abs(normal[axis]))))
    return PLANES[axis] if angle <= tolerance_deg else "oblique"


@dataclass
class Volume:
    """A 3-D image with its patient geometry (LPS, mm).

    Attributes:
        array: Intensities ``[k, j, i]`` = (slice, row, column), float32.
        origin: Patient position of the centre of voxel (0, 0, 0).
        spacing: Voxel size along i, j, k (column, row, slice step; the slice step includes any gap).
        direction: 3x3 matrix whose columns are the unit vectors of the i, j and k axes in patient space.
        description: Series description (or file name).
        slice_thickness: Nominal slice thickness where known (may be less than ``spacing[2]``: a slice gap).
    """

    array: np.ndarray
    origin: np.ndarray
    spacing: np.ndarray
    direction: np.ndarray
    description: str = ""
    slice_thickness: Optional[float] = None

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array, dtype=np.float32)
        self.origin = np.asarray(self.origin, dtype=float).reshape(3)
        self.spacing = np.asarray(self.spacing, dtype=float).reshape(3)
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def normal(self) -> np.ndarray:
        """Unit vector of the slice (k) axis."""
        return self.direction[:, 2]

    @property
    def orientation(self) -> str:
        """'sagittal', 'coronal', 'axial' or 'oblique' (from the direction cosines)."""
        return classify_orientation(np.r_[self.direction[:, 0], self.direction[:, 1]])

    def index_to_patient(self, ijk) -> np.ndarray:
        """Continuous index (i, j, k) = (column, row, slice), shape (..., 3) -> patient LPS mm."""
        ijk = np.asarray(ijk, dtype=float)
        return self.origin + (ijk * self.spacing) @ self.direction.T

    def patient_to_index(self, xyz) -> np.ndarray:
        """Patient LPS mm, shape (..., 3) -> continuous index (i, j, k); ``array[k, j, i]`` is that voxel."""
        xyz = np.asarray(xyz, dtype=float)
        return ((xyz - self.origin) @ np.linalg.inv(self.direction).T) / self.spacing

    def sample(self, xyz, order: int = 1, cval: float = 0.0) -> np.ndarray:
        """Intensity at patient positions (..., 3) by interpolation (``order`` 0 nearest, 1 linear)."""
        ijk = self.patient_to_index(xyz)
        flat = ijk.reshape(-1, 3)
        vals = map_coordinates(self.array, [flat[:, 2], flat[:, 1], flat[:, 0]], order=order, mode="constant",
                               cval=cval)
        return vals.reshape(ijk.shape[:-1])

    def to_sitk(self) -> sitk.Image:
        img = sitk.GetImageFromArray(self.array)
        img.SetOrigin(tuple(self.origin))
        img.SetSpacing(tuple(self.spacing))
        img.SetDirection(tuple(self.direction.ravel()))
        return img

    @classmethod
    def from_sitk(cls, img: sitk.Image, description: str = "") -> "Volume":
        return cls(sitk.GetArrayFromImage(img).astype(np.float32), np.array(img.GetOrigin()),
                   np.array(img.GetSpacing()), np.array(img.GetDirection()).reshape(3, 3), description)


@dataclass
class SeriesInfo:
    """One DICOM series (or image file) of a study, as found."""

    uid: str
    description: str
    number: Optional[int]
    plane: str  # dominant plane of its stacks: sagittal, coronal or axial
    orientation: str  # classify_orientation of its first stack: sagittal, coronal, axial or oblique
    slices: int
    stacks: int
    size: tuple[int, int]  # (rows, columns) of its first slice
    echo_time: Optional[float]
    is_t2: bool
    files: list[Path] = field(default_factory=list, repr=False)
    role: str = ""  # "sagittal_t2", "axial_t2" or ""


@dataclass
class Study:
    """A study: the sagittal T2 volume, the axial T2 (one :class:`Volume` per stack) and what series were found."""

    sagittal_t2: Volume
    axial_t2: Optional[Volume]
    series: list[SeriesInfo]
    axial_stacks: list[Volume] = field(default_factory=list)
    path: Optional[Path] = None

    def axial_near(self, xyz) -> Optional[Volume]:
        """The axial stack whose centre lies nearest the patient point ``xyz`` (mm), or None without axials."""
        if not self.axial_stacks:
            return None
        xyz = np.asarray(xyz, dtype=float)
        centres = [v.index_to_patient((np.array(v.shape[::-1]) - 1) / 2) for v in self.axial_stacks]
        return self.axial_stacks[int(np.argmin([np.linalg.norm(c - xyz) for c in centres]))]


@dataclass
class StudyResult:
    """Per-study outcome of :func:`read_studies`: status 'ok' with ``study``, or 'error' with ``code``/``message``."""

    path: Path
    status: str
    study: Optional[Study] = None
    code: Optional[str] = None
    message: str = ""


# --------------------------------------------------------------------------------------------------------------
# single image files
# --------------------------------------------------------------------------------------------------------------

def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def read_volume(path: str | os.PathLike) -> Volume:
    """Read a NIfTI (.nii, .nii.gz) or MetaImage (.mha, .mhd) file as a :class:`Volume` (LPS geometry)."""
    path = Path(path)
    if not path.exists():
        raise ImagingError(Errors.I001.format(path=path, cwd=Path.cwd()))
    suffix = _suffix(path)
    if suffix not in IMAGE_SUFFIXES:
        raise ImagingError(Errors.I002.format(path=path, suffix=suffix))
    fmt = "NIfTI" if suffix.startswith(".nii") else "MetaImage"
    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise ImagingError(Errors.I010.format(path=path, format=fmt, error=str(err).strip().splitlines()[-1])) from None
    if img.GetDimension() != 3 or img.GetNumberOfComponentsPerPixel() != 1:
        raise ImagingError(Errors.I011.format(path=path, ndim=img.GetDimension(), size=img.GetSize()))
    return Volume.from_sitk(img, description=path.name)


def write_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write a :class:`Volume` as NIfTI or MetaImage (by suffix), keeping its geometry."""
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in IMAGE_SUFFIXES:
        raise ImagingError(Errors.I002.format(path=path, suffix=suffix))
    sitk.WriteImage(volume.to_sitk(), str(path))
    return path


def check_output(path: str | os.PathLike, *, folder: bool, suffixes: Sequence[str] = ()) -> Path:
    """Check, before any work, that ``path`` can be written as a folder or as a file with one of ``suffixes``
    (I039) and is writable (I038); nothing is created."""
    path = Path(path)
    if suffixes and _suffix(path) not in suffixes:
        raise ImagingError(Errors.I039.format(path=path, suffix=_suffix(path), expected=" or ".join(suffixes)))
    problem = unwritable(path, folder=folder)
    if problem:
        raise ImagingError(Errors.I038.format(path=path, problem=problem))
    return path


# --------------------------------------------------------------------------------------------------------------
# DICOM folders
# --------------------------------------------------------------------------------------------------------------

@dataclass
class _Slice:
    path: Path
    row: np.ndarray
    col: np.ndarray
    normal: np.ndarray
    position: np.ndarray
    pixel_spacing: tuple[float, float]
    size: tuple[int, int]
    thickness: Optional[float]


def _header(path: Path, folder: Path) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise ImagingError(Errors.I003.format(path=path, folder=folder, error=str(err) or type(err).__name__)) from None


def _slice(path: Path, ds: pydicom.Dataset) -> _Slice:
    for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns"):
        if tag not in ds or ds.get(tag) in (None, ""):
            raise ImagingError(Errors.I008.format(path=path, tag=tag))
    row, col, normal = _cosines(ds.ImageOrientationPatient)
    thickness = float(ds.SliceThickness) if ds.get("SliceThickness") not in (None, "") else None
    return _Slice(path, row, col, normal, np.array([float(v) for v in ds.ImagePositionPatient]),
                  (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])), (int(ds.Rows), int(ds.Columns)), thickness)


def _stacks(slices: list[_Slice]) -> list[list[_Slice]]:
    """Split a series into stacks: same orientation, same in-plane offset, no jump of more than 2.5 steps."""
    groups: list[tuple[_Slice, list[_Slice]]] = []
    for sl in slices:
        inplane = sl.position - (sl.position @ sl.normal) * sl.normal
        for ref, members in groups:
            ref_inplane = ref.position - (ref.position @ ref.normal) * ref.normal
            if (np.abs(ref.row - sl.row).max() < 1e-3 and np.abs(ref.col - sl.col).max() < 1e-3
                    and np.linalg.norm(ref_inplane - inplane) < 0.5):
                members.append(sl)
                break
        else:
            groups.append((sl, [sl]))
    stacks = []
    for _, members in groups:
        members.sort(key=lambda s: float(s.position @ s.normal))
        dist = np.array([m.position @ m.normal for m in members])
        gaps = np.diff(dist)
        positive = gaps[gaps > 1e-3]
        step = positive.min() if positive.size else 0.0
        start = 0
        for i, g in enumerate(gaps):
            if step > 0 and g > 2.5 * step:
                stacks.append(members[start:i + 1])
                start = i + 1
        stacks.append(members[start:])
    stacks.sort(key=lambda st: float(st[0].position @ np.array([0.0, 0.0, 1.0])), reverse=True)
    return stacks


def _read_pixels(sl: _Slice) -> np.ndarray:
    try:
        ds = pydicom.dcmread(sl.path)
        arr = ds.pixel_array.astype(np.float32)
    except Exception as err:  # noqa: BLE001 - any decoder failure is reported with its file
        raise ImagingError(Errors.I012.format(path=sl.path, error=err)) from None
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    return arr * slope + intercept


def _stack_volume(stack: list[_Slice], info: SeriesInfo, folder: Path) -> Volume:
    orient = classify_orientation(np.r_[stack[0].row, stack[0].col])
    if len(stack) < 2:
        raise ImagingError(Errors.I007.format(description=info.description, uid=info.uid, path=folder, n=len(stack),
                                              orientation=orient))
    dist = np.array([s.position @ s.normal for s in stack])
    gaps = np.diff(dist)
    step = float(np.median(gaps))
    tol = max(0.05, 0.02 * abs(step))
    if step <= 1e-3 or np.abs(gaps - step).max() > tol:
        raise ImagingError(Errors.I009.format(description=info.description, uid=info.uid, path=folder,
                                              gaps=[round(float(g), 2) for g in gaps], tol=round(tol, 2)))
    first = stack[0]
    direction = np.stack([first.row, first.col, first.normal], axis=1)
    array = np.stack([_read_pixels(s) for s in stack])
    spacing = (first.pixel_spacing[1], first.pixel_spacing[0], step)
    return Volume(array, first.position, spacing, direction, info.description, first.thickness)


def _is_t2(desc: str, echo_time: Optional[float]) -> bool:
    if _T2.search(desc):
        return True
    if _NOT_T2.search(desc):
        return False
    return echo_time is not None and echo_time >= 60.0


def _scan_files(files: Sequence[Path], folder: Path) -> dict[str, tuple[list[_Slice], pydicom.Dataset]]:
    series: dict[str, tuple[list[_Slice], pydicom.Dataset]] = {}
    for path in files:
        ds = _header(path, folder)
        slices, _ = series.setdefault(str(ds.SeriesInstanceUID), ([], ds))
        slices.append(_slice(path, ds))
    return series


def _read_dicom_study(files: Sequence[Path], folder: Path, descriptions: Optional[dict[str, str]] = None) -> Study:
    found = _scan_files(files, folder)
    infos: list[tuple[SeriesInfo, list[list[_Slice]]]] = []
    for uid, (slices, ds) in found.items():
        desc = (descriptions or {}).get(uid) or str(ds.get("SeriesDescription", "") or "")
        te = ds.get("EchoTime")
        te = float(te) if te not in (None, "") else None
        stacks = _stacks(slices)
        planes = [dominant_plane(np.r_[st[0].row, st[0].col]) for st in stacks]
        plane = max(set(planes), key=planes.count)
        info = SeriesInfo(uid=uid, description=desc, number=int(ds.SeriesNumber) if ds.get("SeriesNumber") not in (None, "") else None,
                          plane=plane, orientation=classify_orientation(np.r_[stacks[0][0].row, stacks[0][0].col]),
                          slices=len(slices), stacks=len(stacks), size=slices[0].size, echo_time=te,
                          is_t2=_is_t2(desc, te), files=sorted(s.path for s in slices))
        infos.append((info, stacks))
    infos.sort(key=lambda it: (it[0].number if it[0].number is not None else 1 << 30, it[0].uid))

    def pick(plane: str) -> Optional[tuple[SeriesInfo, list[list[_Slice]]]]:
        cands = [it for it in infos if it[0].plane == plane]
        if not cands:
            return None
        t2 = [it for it in cands if it[0].is_t2]
        if not t2:
            logger.warning("%s: no %s series looks T2-weighted (description or echo time); using '%s'", folder,
                           plane, cands[0][0].description)
            t2 = cands
        return max(t2, key=lambda it: it[0].slices)

    sag = pick("sagittal")
    if sag is None:
        found_txt = ", ".join(f"'{i.description}' ({i.orientation}, {i.slices} slices)" for i, _ in infos) or "none"
        raise ImagingError(Errors.I005.format(path=folder, found=found_txt, tol=45))
    ax = pick("axial")
    for info, stacks in (it for it in (sag, ax) if it is not None):
        sizes = sorted({s.size for st in stacks for s in st})
        if len(sizes) > 1:
            raise ImagingError(Errors.I006.format(description=info.description, uid=info.uid, path=folder,
                                                  sizes=[f"{r}x{c}" for r, c in sizes]))
    sag[0].role = "sagittal_t2"
    sag_stacks = sag[1]
    if len(sag_stacks) > 1:
        logger.warning("%s: sagittal series '%s' has %d stacks; using the largest", folder, sag[0].description,
                       len(sag_stacks))
    sagittal = _stack_volume(max(sag_stacks, key=len), sag[0], folder)
    axial_stacks: list[Volume] = []
    if ax is not None:
        ax[0].role = "axial_t2"
        axial_stacks = [_stack_volume(st, ax[0], folder) for st in ax[1]]
    axial = max(axial_stacks, key=lambda v: v.shape[0]) if axial_stacks else None
    for info, _ in infos:
        if not info.role and info.slices < 2:
            logger.info("%s: series '%s' has %d slice(s); ignored", folder, info.description, info.slices)
    return Study(sagittal, axial, [i for i, _ in infos], axial_stacks, folder)


# --------------------------------------------------------------------------------------------------------------
# finding studies by their DICOM identity
# --------------------------------------------------------------------------------------------------------------

@dataclass
class StudySource:
    """One study found by :func:`discover_studies`.

    Attributes:
        study_id: its name in outputs (see :func:`discover_studies`).
        path: the study's folder (see :func:`discover_studies`), or the NIfTI / MetaImage file.
        files: its DICOM image files, sorted (empty for an image file).
        study_uid: its StudyInstanceUID ("" for an image file).
        descriptions: SeriesInstanceUID -> series description given by the data set, in place of the DICOM
            SeriesDescription (the RSNA layout's descriptions file).
        landmarks: reference points of the data set (:class:`imaging.datasets.rsna.Landmark`), which
            ``imaging extract`` compares with the disc planes it finds.
    """

    study_id: str
    path: Path
    files: tuple[Path, ...] = ()
    study_uid: str = ""
    descriptions: dict[str, str] = field(default_factory=dict)
    landmarks: tuple = ()


@dataclass
class Discovery:
    """What :func:`discover_studies` found: the studies, every file that belongs to none with the reason, and the
    inputs that hold no study."""

    studies: list[StudySource]
    ignored: dict[Path, str] = field(default_factory=dict)
    empty: list[Path] = field(default_factory=list)  # inputs under which no study was found

    def ignored_counts(self) -> dict[str, int]:
        """Ignored files per reason, most frequent first."""
        return dict(Counter(self.ignored.values()).most_common())

    def describe_ignored(self, examples: int = 3) -> str:
        """One line: how many files were ignored, why, and a few of their names ("" when none)."""
        if not self.ignored:
            return ""
        why = ", ".join(f"{n} {reason}" for reason, n in self.ignored_counts().items())
        names = ", ".join(p.name for p in list(self.ignored)[:examples])
        return f"ignored {len(self.ignored)} file(s) that are no DICOM image ({why}), e.g. {names}"


_PROBE_TAGS = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Rows"]
#: ``map``-like: applies :func:`_probe` to a list of files, results in order (builtin ``map``, a pool's ``map``).
ProbeMap = Callable[[Callable[[Path], "tuple[str, str, str] | str"], list[Path]], Iterable["tuple[str, str, str] | str"]]
_IMAGE_DATA_SUFFIXES = (".raw", ".zraw")  # the pixel files beside a MetaImage header (.mhd)
NOT_DICOM, DICOMDIR, NO_IMAGE, NO_UID, HIDDEN, DUPLICATE = (
    "not DICOM", "DICOMDIR", "DICOM without pixel data", "DICOM image without study or series UID", "hidden",
    "duplicate SOPInstanceUID")


def _probe(path: Path) -> tuple[str, str, str] | str:
    """``(StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID)`` of a DICOM image file, or why it is not one."""
    if path.name.upper() == "DICOMDIR":
        return DICOMDIR
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_PROBE_TAGS)
    except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
        return NOT_DICOM
    if "Rows" not in ds:
        return NO_IMAGE  # a structured report, a presentation state, a key-object selection ...
    study, series = str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SeriesInstanceUID", "") or "")
    if not study or not series:
        return NO_UID
    return study, series, str(ds.get("SOPInstanceUID", "") or path)


def _walk(root: Path) -> Iterable[Path]:
    """Every file under ``root`` (a file itself, or the files of a folder tree, sorted; hidden folders skipped)."""
    if not root.is_dir():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield from (Path(folder) / f for f in sorted(files))


def read_study_ids(path: str | os.PathLike) -> dict[str, str]:
    """A study-id mapping file: CSV with the columns ``study_instance_uid`` and ``study_id``."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            columns = list(rows[0]) if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ImagingError(Errors.I036.format(path=path, problem=err)) from None
    if not {"study_instance_uid", "study_id"} <= set(columns):
        raise ImagingError(Errors.I036.format(path=path, problem=f"its columns are {columns or 'none'}"))
    out: dict[str, str] = {}
    for n, row in enumerate(rows, 2):
        uid, sid = (row["study_instance_uid"] or "").strip(), (row["study_id"] or "").strip()
        if not uid or not sid or sid in (".", "..") or any(c in sid for c in "/\\\0"):
            raise ImagingError(Errors.I036.format(path=path, problem=f"line {n} has study_instance_uid {uid!r} "
                                                  f"and study_id {sid!r} (both needed; the id is a folder name)"))
        out[uid] = sid
    return out


def discover_studies(paths: Iterable[str | os.PathLike], study_ids: Optional[dict[str, str]] = None,
                     probe_map: ProbeMap = map) -> Discovery:
    """Find the studies under ``paths`` (folders, DICOM files, NIfTI / MetaImage files) by their DICOM identity.

    Every file under a folder is looked at, however deep: DICOM images are grouped by StudyInstanceUID (one
    study) and SeriesInstanceUID (its series), wherever they sit (flat exports, patient/study/series trees,
    deeper nesting, several studies in one folder, one study spread over several inputs); each NIfTI or MetaImage
    file is a study of its own. Files that are no DICOM image (``README.txt``, ``DICOMDIR``, ``.DS_Store``,
    reports without pixel data, second copies of an instance) are ignored and counted in
    :attr:`Discovery.ignored`, never fatal.

    The study id (the output folder name and the manifest's ``study_id``), in this order:

    1. ``study_ids[StudyInstanceUID]`` (a mapping file, :func:`read_study_ids`);
    2. the name of the study's folder, when that folder holds no other study (``studies/S01/SAG_T2/*.dcm``,
       ``studies/S01/AX_T2/*.dcm`` -> ``S01``) and no other study gets the same name. The study's folder is the
       deepest folder holding all its files; for a study of one series, whose deepest folder is that series'
       folder, the folder above it when that holds no other study and lies inside the given paths;
    3. else the StudyInstanceUID (a flat export of several studies, or folders named alike such as
       ``P1/STUDY1`` and ``P2/STUDY1``).

    An image file's id is its name without the suffix. A folder in the RSNA 2024 layout (the download folder,
    its ``train_images`` or a study folder in it; :mod:`imaging.datasets.rsna`) gives its studies named by their RSNA ``study_id``, the
    series descriptions and reference points taken from the data set's CSV files.

    ``probe_map`` reads the DICOM headers of the files (``map``; a process pool's ``map`` reads them in parallel).

    Raises:
        ImagingError: I001 when a path does not exist; I031 when two studies end with the same id.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise ImagingError(Errors.I001.format(path=p, cwd=Path.cwd()))
    layouts = {p: rsna.find_layout(p) for p in paths}
    scan = _scan([p for p in paths if layouts[p] is None], probe_map)
    files = {uid: tuple(sorted(inst.values())) for uid, inst in scan.instances.items()}
    holders = _holders(files, scan.images)
    folders = _study_folders(files, scan.series, holders, paths)
    study_ids = study_ids or {}
    named = {uid: folders[uid].name for uid in files
             if uid not in study_ids and folders[uid].name and holders[folders[uid]] == {uid}}
    clashes = {name for name, n in Counter(named.values()).items() if n > 1}
    studies = [StudySource(study_ids.get(uid) or (named[uid] if named.get(uid, "") not in ("", *clashes) else uid),
                           folders[uid], files[uid], uid) for uid in files]
    studies += [StudySource(_image_stem(im), im) for im in scan.images]
    for p, layout in layouts.items():
        if layout is not None:
            in_layout = [replace(st, study_id=study_ids.get(st.study_uid, st.study_id)) for st in rsna.discover(layout)]
            studies += in_layout
            if not in_layout:
                scan.empty.append(p)
    studies.sort(key=lambda s: (str(s.path), s.study_id))
    by_id: dict[str, list[StudySource]] = {}
    for st in studies:
        by_id.setdefault(st.study_id, []).append(st)
    for sid, same in by_id.items():
        if len(same) > 1:
            raise ImagingError(Errors.I031.format(paths=[str(st.path) for st in same], study_id=sid))
    found = Discovery(studies, scan.ignored, scan.empty)
    if found.ignored:
        logger.info("%s", found.describe_ignored())
    for p in found.empty:
        logger.warning("%s holds no DICOM image, NIfTI or MetaImage file", p)
    return found


@dataclass
class _Scan:
    instances: dict[str, dict[str, Path]] = field(default_factory=dict)  # study uid -> SOP instance uid -> file
    series: dict[str, set[str]] = field(default_factory=dict)  # study uid -> its series uids
    images: list[Path] = field(default_factory=list)  # NIfTI / MetaImage files
    ignored: dict[Path, str] = field(default_factory=dict)
    empty: list[Path] = field(default_factory=list)


def _scan(paths: Sequence[Path], probe_map: ProbeMap = map) -> _Scan:
    """Look at every file under ``paths`` once: group DICOM images by study, collect image files, note the rest.
    ``probe_map(_probe, files)`` reads the DICOM headers (a process pool's ``map`` reads them in parallel)."""
    scan, seen = _Scan(), set()
    owners: list[tuple[Path, list[Path], bool]] = []  # each path, its files to probe, whether it holds image files
    for p in paths:
        files, images = [], False
        for f in _walk(p):
            if f in seen or (f.suffix.lower() in _IMAGE_DATA_SUFFIXES and f.with_suffix(".mhd").exists()):
                continue
            seen.add(f)
            if f.name.lower().endswith(IMAGE_SUFFIXES):
                scan.images.append(f)
                images = True
            elif f.name.startswith("."):
                scan.ignored[f] = HIDDEN
            else:
                files.append(f)
        owners.append((p, files, images))
    probed = iter(probe_map(_probe, [f for _, files, _ in owners for f in files]))
    for p, files, useful in owners:
        for f in files:
            found = next(probed)
            if isinstance(found, str):
                scan.ignored[f] = found
                continue
            useful = True
            study, series, instance = found
            scan.series.setdefault(study, set()).add(series)
            instances = scan.instances.setdefault(study, {})
            if instance in instances:
                scan.ignored[f] = DUPLICATE
            else:
                instances[instance] = f
        if not useful:
            scan.empty.append(p)
    return scan


def _holders(files: dict[str, tuple[Path, ...]], images: Sequence[Path]) -> dict[Path, set[str]]:
    """Every folder -> the studies (UIDs, or image paths) with a file in it or below it."""
    holders: dict[Path, set[str]] = {}
    for key, parents in [*((uid, {f.parent for f in fs}) for uid, fs in files.items()),
                         *((str(im), {im.parent}) for im in images)]:
        for parent in parents:
            for folder in (parent, *parent.parents):
                holders.setdefault(folder, set()).add(key)
    return holders


def _study_folders(files: dict[str, tuple[Path, ...]], series: dict[str, set[str]],
                   holders: dict[Path, set[str]], paths: Sequence[Path]) -> dict[str, Path]:
    """Each study's folder: the deepest one holding all its files, or for a study of one series (whose deepest
    folder is that series' folder) the folder above it, when that holds no other study and lies in ``paths``."""
    folders = {uid: Path(os.path.commonpath([str(f.parent) for f in fs])) for uid, fs in files.items()}
    for uid, folder in folders.items():
        if (len(series[uid]) == 1 and holders[folder.parent] == {uid}
                and any(folder.parent.is_relative_to(p) for p in paths)):
            folders[uid] = folder.parent
    return folders


def _image_stem(path: Path) -> str:
    return path.name[: -len(_suffix(path))]


#: Largest ratio of voxel spacings for which a NIfTI / MetaImage volume counts as a 3-D acquisition that may be
#: re-stacked sagittally.
ISOTROPIC_RATIO = 1.5


def read_study(path: str | os.PathLike | StudySource) -> Study:
    """Read one study: a :class:`StudySource` of :func:`discover_studies`, a folder holding one study's DICOM
    files (sub-folders are searched; other files are ignored), a NIfTI file or a MetaImage file.

    Raises:
        ImagingError: with a code (``err.code``) naming what is wrong with the study and how to fix it.
    """
    if isinstance(path, StudySource):
        return _read_dicom_study(path.files, path.path, path.descriptions) if path.files else read_study(path.path)
    path = Path(path)
    if not path.exists():
        raise ImagingError(Errors.I001.format(path=path, cwd=Path.cwd()))
    if path.is_dir():
        found = discover_studies([path])
        if not found.studies:
            raise ImagingError(Errors.I004.format(path=path, ignored=found.describe_ignored() or "it holds no file"))
        if len(found.studies) > 1:
            raise ImagingError(Errors.I035.format(path=path, n=len(found.studies),
                                                  ids=[st.study_id for st in found.studies]))
        return read_study(found.studies[0])
    vol = read_volume(path)
    dplane = dominant_plane(np.r_[vol.direction[:, 0], vol.direction[:, 1]])
    if dplane != "sagittal" and max(vol.spacing) <= ISOTROPIC_RATIO * min(vol.spacing):
        # a 3-D (near-isotropic) acquisition stored along another axis: re-stack it sagittally by permuting and
        # flipping axes (no resampling), as a sagittal series is stored (columns posterior, rows inferior)
        vol = Volume.from_sitk(sitk.DICOMOrient(vol.to_sitk(), "PIL"), description=path.name)
        dplane = dominant_plane(np.r_[vol.direction[:, 0], vol.direction[:, 1]])
    plane = classify_orientation(np.r_[vol.direction[:, 0], vol.direction[:, 1]])
    info = SeriesInfo(uid=path.name, description=path.name, number=None, plane=dplane, orientation=plane,
                      slices=vol.shape[0], stacks=1, size=vol.shape[1:], echo_time=None, is_t2=True, files=[path])
    if dplane != "sagittal":
        raise ImagingError(Errors.I005.format(path=path, found=f"'{path.name}' ({plane}, {vol.shape[0]} slices)",
                                              tol=45))
    info.role = "sagittal_t2"
    return Study(vol, None, [info], [], path)


def read_studies(paths: Iterable[str | os.PathLike]) -> list[StudyResult]:
    """Read many studies; a broken study gives status 'error' with its code and message, the others go on."""
    results = []
    for p in paths:
        p = Path(p)
        try:
            results.append(StudyResult(p, "ok", read_study(p)))
        except ImagingError as err:
            logger.warning("%s: %s", p, err)
            results.append(StudyResult(p, "error", None, err.code, str(err)))
    return results
