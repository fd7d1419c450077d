"""dartscope-probe: watch and steer a PyTorch DARTS search from the dartscope
terminal dashboard (`dartscope attach ADDRESS`). See docs/attach.md."""

from .hessian import dominant_eigenvalue, preserved
from .knobs import Knob
from .probe import DARTS_PRIMITIVES, VERSION, Probe, darts_arch_parameters

__all__ = ["Probe", "Knob", "darts_arch_parameters", "dominant_eigenvalue", "preserved", "DARTS_PRIMITIVES", "VERSION"]
__version__ = VERSION
