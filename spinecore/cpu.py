"""Safe oneDNN CPU kernels for the toolkit's convolutions on x86 machines.

**The fault.** torch 2.13.0 (CPU wheels) bundles oneDNN 3.12. On CPUs with AVX-512 (Intel Xeon, AMD EPYC Zen 4
and later) oneDNN dispatches a 3-D convolution's weight gradient to ``jit_avx512_common_convolution_bwd_weights_t``,
which at the grading network's shapes crashes the process (``Segmentation fault`` inside ``loss.backward()``) or
spins forever. The same network trains on the AVX2 kernels. CPUs without AVX-512 never reach that kernel.

**The remedy.** :func:`configure_cpu_kernels` caps oneDNN at AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``) on a CPU with
AVX-512, unless the user chose a cap: a ``ONEDNN_MAX_CPU_ISA`` or ``DNNL_MAX_CPU_ISA`` already in the environment
is kept as it is (``ONEDNN_MAX_CPU_ISA=DEFAULT`` lifts every restriction, at the user's risk). The cap keeps
oneDNN's fast JIT kernels (switching oneDNN off, ``torch.backends.mkldnn.enabled = False``, also avoids the
fault but falls back to much slower convolutions: see ``benchmarks/bench_grading.py`` and the README).

oneDNN reads the variable once, when the process creates its first oneDNN primitive (its first convolution),
not at ``import torch``; afterwards it is fixed. So the cap must be set before any convolution runs: the toolkit
applies it when it builds a network (:class:`grading.model.ResNeXt`, :class:`imaging.unet.UNet`), before any
convolution of training, prediction, segmentation or extraction. Child processes (DataLoader workers,
``torchrun`` ranks, ``imaging extract --workers``) inherit it through the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ISA_VARIABLES", "SAFE_ISA", "KernelChoice", "choose_kernels", "configure_cpu_kernels"]

logger = logging.getLogger(__name__)

ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")  # oneDNN reads the first one that is set
SAFE_ISA = "AVX2"


@dataclass(frozen=True)
class KernelChoice:
    """What :func:`configure_cpu_kernels` decided.

    Attributes:
        isa: the oneDNN ISA cap in effect (``"AVX2"``, the user's value, or ``None`` for oneDNN's own choice).
        reason: ``"user"`` (a cap was already set), ``"avx512"`` (capped here) or ``"no-avx512"`` (nothing to do).
        variable: the environment variable holding the cap, when there is one.
    """

    isa: str | None
    reason: str
    variable: str | None = None

    def describe(self) -> str:
        if self.reason == "user":
            return f"oneDNN CPU kernels: the user's {self.variable}={self.isa} is kept"
        if self.reason == "avx512":
            return (f"oneDNN CPU kernels: capped at {self.isa} ({self.variable}={self.isa}) because this CPU has "
                    "AVX-512, whose 3-D convolution backward kernel crashes in torch 2.13; set ONEDNN_MAX_CPU_ISA "
                    "yourself to choose otherwise")
        return "oneDNN CPU kernels: oneDNN's own choice (this CPU has no AVX-512)"


def choose_kernels(environ: Mapping[str, str], has_avx512: bool) -> KernelChoice:
    """The cap for a process with environment ``environ`` on a CPU with or without AVX-512 (no side effect)."""
    for name in ISA_VARIABLES:
        if environ.get(name, "").strip():
            return KernelChoice(environ[name].strip(), "user", name)
    if has_avx512:
        return KernelChoice(SAFE_ISA, "avx512", ISA_VARIABLES[0])
    return KernelChoice(None, "no-avx512")


def _has_avx512() -> bool:
    import torch

    return bool(torch.cpu._is_avx512_supported())  # cpuinfo's answer, the one oneDNN's dispatcher also follows


_CHOICE: KernelChoice | None = None


def configure_cpu_kernels() -> KernelChoice:
    """Apply the safe oneDNN cap for this process (once; later calls return the first choice). Call it before the
    process's first convolution (module docstring); the choice is logged at INFO level."""
    global _CHOICE
    if _CHOICE is None:
        _CHOICE = choose_kernels(os.environ, _has_avx512())
        if _CHOICE.reason == "avx512":
            os.environ[_CHOICE.variable] = _CHOICE.isa
        logger.info(_CHOICE.describe())
    return _CHOICE
