"""Signal processing (pure NumPy/SciPy, no torch): windows, filters, features, images."""

from myoshift.signal.augment import (
    Augmenter,
    add_noise_snr,
    as_augmenter,
    channel_dropout,
    mixup,
    rotate_electrodes,
    scale_magnitude,
    time_shift,
    time_warp,
    translate_electrodes,
)
from myoshift.signal.features import (
    extract_features,
    features_from_recordings,
    features_from_signal,
    features_from_signals,
    list_features,
)
from myoshift.signal.filters import (
    CausalFilter,
    bandpass,
    design_filter,
    envelope_lowpass,
    envelope_rms,
    filter_recording,
    highpass,
    lowpass,
    notch,
    rectify,
    resample,
    resample_array,
    resample_recording,
)
from myoshift.signal.layouts import (
    from_image,
    reshape_channels,
    rotate_ring,
    to_image,
    translate_grid,
)
from myoshift.signal.normalize import ChannelScaler, PerSubjectScaler, fit_per_subject
from myoshift.signal.preprocess import dataset_preprocess
from myoshift.signal.spectral import cepstral, cepstral_coefficients, log_spectrogram
from myoshift.signal.steps import Step, make_step, make_steps, register_step, step_names
from myoshift.signal.wavelet import cwt_image, wavelet_packet_image
from myoshift.signal.windows import Windows, make_windows, ms_to_samples

# the built-in steps register themselves on import
from myoshift.signal import represent  # noqa: F401  isort: skip
from myoshift.signal import represent_spectral  # noqa: F401  isort: skip
from myoshift.signal import represent_fusion  # noqa: F401  isort: skip

__all__ = [
    "Step",
    "dataset_preprocess",
    "make_step",
    "make_steps",
    "register_step",
    "step_names",
    # features
    "extract_features",
    "features_from_recordings",
    "features_from_signal",
    "features_from_signals",
    "list_features",
    "Windows",
    "make_windows",
    "ms_to_samples",
    # filters
    "CausalFilter",
    "bandpass",
    "design_filter",
    "envelope_lowpass",
    "envelope_rms",
    "filter_recording",
    "highpass",
    "lowpass",
    "notch",
    "rectify",
    "resample",
    "resample_array",
    "resample_recording",
    # normalisation
    "ChannelScaler",
    "PerSubjectScaler",
    "fit_per_subject",
    # layouts
    "from_image",
    "reshape_channels",
    "rotate_ring",
    "to_image",
    "translate_grid",
    # time-frequency
    "cepstral",
    "cepstral_coefficients",
    "log_spectrogram",
    "cwt_image",
    "wavelet_packet_image",
    # augmentation
    "Augmenter",
    "add_noise_snr",
    "as_augmenter",
    "channel_dropout",
    "mixup",
    "rotate_electrodes",
    "scale_magnitude",
    "time_shift",
    "time_warp",
    "translate_electrodes",
]
