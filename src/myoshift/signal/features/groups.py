"""Named feature groups (imported after every feature module has registered its features).

Group names are lower case with hyphens; LibEMG's group names are accepted as aliases.
Inside a group, features keep LibEMG's order, so the columns equal LibEMG's
``extract_feature_group(..., array=True)`` where the definitions agree.
"""

from __future__ import annotations

from myoshift.signal.features.registry import register_group

register_group(
    "hudgins-td",
    ["mav", "zc", "ssc", "wl"],
    "Hudgins et al. 1993 time-domain set: MAV, ZC, SSC, WL",
    aliases=("HTD", "td", "hudgins"),
)
register_group(
    "td-ar",
    ["mav", "zc", "ssc", "wl", "ar"],
    "Hudgins TD plus AR coefficients (Tkach/Hargrove): MAV, ZC, SSC, WL, AR",
    aliases=("TDAR", "tdar"),
)
register_group(
    "td-psd",
    ["m0", "m2", "m4", "sparsi", "irf", "wlf"],
    "Khushaba et al. 2017 time-domain power spectral descriptors",
    aliases=("TDPSD", "tdpsd"),
)
register_group(
    "ls4",
    ["ls", "mfl", "msr", "wamp"],
    "Phinyomark et al. 2018 low-sampling-rate set: LS, MFL, MSR, WAMP",
    aliases=("LS4",),
)
register_group(
    "ls9",
    ["ls", "mfl", "msr", "wamp", "zc", "rms", "iav", "dasdv", "var"],
    "Phinyomark et al. 2018 nine-feature set",
    aliases=("LS9",),
)
register_group(
    "hjorth",
    ["act", "mob", "comp"],
    "Hjorth parameters (LibEMG's definitions): activity, mobility, complexity",
    aliases=("HJORTH",),
)
register_group(
    "itd",
    ["isd", "cor", "mdiff", "mlk"],
    "invariant time-domain set: ISD, COR, MDIFF, MLK",
    aliases=("ITD",),
)
register_group(
    "spectral",
    ["mnf", "mdf", "mnp", "pkf", "sm"],
    "frequency features: mean/median/peak frequency, mean power, spectral moment (need fs)",
)
