"""Signal processing (pure NumPy/SciPy, no torch): windows, filters, features, images."""

from myoshift.signal.windows import Windows, make_windows, ms_to_samples

__all__ = ["Windows", "make_windows", "ms_to_samples"]
