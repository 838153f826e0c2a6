"""3-D convolutions train on every x86 CPU: the oneDNN cap of spinecore.cpu, and a crash/hang regression check.

torch 2.13's oneDNN crashes (segfault) or spins in its AVX-512 3-D convolution weight-gradient kernel. The checks
run the convolutions in a child process with a time limit, so a crash or a hang fails one test instead of killing
or stalling the whole run, on whatever CPU the tests run on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spinecore.cpu import ISA_VARIABLES, SAFE_ISA, KernelChoice, choose_kernels

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 420  # the paper-size branch: 20-90 s on a shared 2-core CPU; the reported hang ran 17 minutes

# The product's 3-D convolutions, forward and backward, as training runs them: the tiny network at the sizes of
# the tests (where the reported crash happened) and of 'make e2e-small', and the paper's sagittal ResNeXt-50 trunk
# (every 3-D convolution kind of it: 7x7x7 stem, 1x1x1, grouped 3x3x3 with and without stride, strided 1x1x1
# shortcut) on one 25x160x320 volume.
TINY = r"""
import torch
from grading.loss import weighted_cross_entropy
from grading.model import GradingNet, preset
from spinecore.cpu import configure_cpu_kernels

torch.manual_seed(0)
cfg = preset("tiny")
net = GradingNet(cfg).train()
print(configure_cpu_kernels().describe(), flush=True)
for batch, dhw in ((8, (5, 16, 16)), (4, (5, 8, 12)), (4, (9, 32, 64))):
    out = net(torch.randn(batch, 8, 16, 16), torch.randn(batch, 1, *dhw))
    weighted_cross_entropy(out, torch.randint(0, 4, (batch, 3)), torch.ones(3, 4), cfg.tasks).backward()
    print("tiny", batch, dhw, "ok", flush=True)
"""
PAPER = r"""
import torch
from grading.model import ResNeXt, preset

p = preset("paper")
trunk = ResNeXt(3, 1, stem_channels=p.stem_channels, layers=p.layers, cardinality=p.cardinality,
                base_width=p.base_width).train()
trunk(torch.randn(1, 1, 25, 160, 320)).square().mean().backward()
assert all(m.weight.grad is not None and torch.isfinite(m.weight.grad).all()
           for m in trunk.modules() if isinstance(m, torch.nn.Conv3d))
print("paper sagittal trunk ok", flush=True)
"""


def _child_env(**extra: str) -> dict[str, str]:
    """This environment without any oneDNN cap (the product decides), with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ISA_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    env.update(extra)
    return env


def _run(code: str, env: dict[str, str], limit_s: float = LIMIT_S) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=limit_s)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the 3-D convolutions hung: no end after {limit_s} s (oneDNN kernel spinning?); output so "
                    f"far:\n{err.stdout or ''}\n{err.stderr or ''}")
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
        pytest.fail(f"the 3-D convolutions crashed ({how}); stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def test_tiny_network_3d_convolutions_train_without_crash_or_hang() -> None:
    proc = _run(TINY, _child_env(ONEDNN_VERBOSE="1"))
    assert "oneDNN CPU kernels:" in proc.stdout
    assert proc.stdout.count(" ok\n") == 3
    # the cap is in effect: whatever the CPU, oneDNN never dispatched to AVX-512 (or AMX) kernels
    isa = [line for line in proc.stdout.splitlines() if ",info,cpu,isa:" in line]
    assert not any("512" in line or "AMX" in line for line in isa), isa


@pytest.mark.slow
def test_paper_sagittal_branch_3d_convolutions_train_without_crash_or_hang() -> None:
    proc = _run(PAPER, _child_env())
    assert "paper sagittal trunk ok" in proc.stdout


def test_onednn_reads_the_cap_at_its_first_convolution_not_at_import() -> None:
    """The mechanism of the fix: a cap set after ``import torch`` (as the product sets it, when a network is
    built) still governs the first convolution. SSE4.1 is below every x86-64 CPU's best, so it shows anywhere."""
    code = ("import os, torch\nos.environ['ONEDNN_MAX_CPU_ISA'] = 'SSE41'\n"
            "x = torch.randn(2, 1, 9, 32, 64, requires_grad=True)\n"  # small ones bypass oneDNN
            "torch.nn.Conv3d(1, 8, 7, stride=2, padding=3)(x).sum().backward()\n")
    proc = _run(code, _child_env(ONEDNN_VERBOSE="1"), 120)
    isa_lines = [line for line in proc.stdout.splitlines() if ",info,cpu,isa:" in line]
    if not isa_lines:
        pytest.skip("this torch build has no oneDNN verbose output (no oneDNN, or a non-x86 CPU)")
    assert "SSE4.1" in isa_lines[0], isa_lines[0]


@pytest.mark.parametrize("environ,avx512,expected", [
    ({}, True, KernelChoice(SAFE_ISA, "avx512", "ONEDNN_MAX_CPU_ISA")),
    ({}, False, KernelChoice(None, "no-avx512")),
    ({"ONEDNN_MAX_CPU_ISA": "DEFAULT"}, True, KernelChoice("DEFAULT", "user", "ONEDNN_MAX_CPU_ISA")),
    ({"DNNL_MAX_CPU_ISA": "avx512_core"}, True, KernelChoice("avx512_core", "user", "DNNL_MAX_CPU_ISA")),
    ({"ONEDNN_MAX_CPU_ISA": " "}, True, KernelChoice(SAFE_ISA, "avx512", "ONEDNN_MAX_CPU_ISA")),
])
def test_cap_choice_keeps_the_users_setting_and_caps_only_avx512(environ: dict[str, str], avx512: bool,
                                                                  expected: KernelChoice) -> None:
    choice = choose_kernels(environ, avx512)
    assert choice == expected
    assert choice.describe().startswith("oneDNN CPU kernels:")


def test_building_a_network_applies_and_logs_the_choice_in_a_fresh_process() -> None:
    code = ("import logging, os\nlogging.basicConfig(level=logging.INFO)\n"
            "from imaging.unet import UNet\nUNet(features=2, depth=1)\n"
            "print('cap', os.environ.get('ONEDNN_MAX_CPU_ISA'))\n")
    proc = _run(code, _child_env(ONEDNN_MAX_CPU_ISA="AVX2"), 120)
    assert "the user's ONEDNN_MAX_CPU_ISA=AVX2 is kept" in proc.stderr
    assert "cap AVX2" in proc.stdout
