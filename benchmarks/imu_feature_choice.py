"""Feature-set choice on TRAINING data only: 3dc train session, reps 1-3 -> rep 4."""

from myoshift.datasets import load_dataset
from myoshift.evaluation.recipes import resolve_method
from myoshift.recording import RecordingSet

sets = {
    "all5": None,
    "gravity+change+speed": ["gravity", "rotation-change", "angular-speed"],
    "gravity": ["gravity"],
    "quaternion+rotation": ["quaternion", "rotation"],
}
for s in (1, 2, 3):
    rs = load_dataset("3dc", subjects=[s])
    tr = RecordingSet([r for r in rs if r.meta["session"] == "train" and r.meta["repetition"] < 4])
    te = RecordingSet([r for r in rs if r.meta["session"] == "train" and r.meta["repetition"] == 4])
    row = {"lda-td": resolve_method("lda-td", {"step_ms": 50}).chain(1000.0, 0).fit(tr).score(te)}
    for k, f in sets.items():
        rep = [{"imu-features": {"features": f}}] if f else ["imu-features"]
        row[k] = (
            resolve_method("lda-td+imu", {"step_ms": 50, "represent": rep})
            .chain(1000.0, 0)
            .fit(tr)
            .score(te)
        )
        repx = (
            [{"imu-features": {"features": f, "into": "X"}}]
            if f
            else [{"imu-features": {"into": "X"}}]
        )
        row["only:" + k] = (
            resolve_method("imu-only-lda", {"step_ms": 50, "represent": repx})
            .chain(1000.0, 0)
            .fit(tr)
            .score(te)
        )
    print(s, {k: round(100 * v, 1) for k, v in row.items()}, flush=True)
