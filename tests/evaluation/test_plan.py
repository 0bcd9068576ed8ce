"""plan.held_out_values (each value of a column held out in turn, per dataset) and
plan.values_per_person (each person's values of a column)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import held_out_values, values_per_person


def test_values_per_dataset_in_natural_order_rows_without_a_value_left_out() -> None:
    table = pd.DataFrame(
        {
            "dataset": ["b", "b", "a", "a", "a", "b", "a"],
            "day": [10, 2, 1, 2, 1, 10, None],
        }
    )
    held = held_out_values(table, "day", "leave-group-out:day")
    assert [(h.dataset, h.value) for h in held] == [("a", 1), ("a", 2), ("b", 2), ("b", 10)]
    a1, a2, b2, b10 = held
    # rows: the dataset's rows with a value (row 6 has none); held: this value's rows
    np.testing.assert_array_equal(np.flatnonzero(a1.rows), [2, 3, 4])
    np.testing.assert_array_equal(np.flatnonzero(a1.held), [2, 4])
    np.testing.assert_array_equal(np.flatnonzero(a2.held), [3])
    np.testing.assert_array_equal(np.flatnonzero(b2.rows), [0, 1, 5])
    np.testing.assert_array_equal(np.flatnonzero(b10.held), [0, 5])


def test_without_a_dataset_column_the_whole_table_is_one_dataset() -> None:
    table = pd.DataFrame({"gender": ["f", "m", "f"]})
    held = held_out_values(table, "gender", "leave-group-out:gender")
    assert [(h.dataset, h.value) for h in held] == [(None, "f"), (None, "m")]
    assert held[0].rows.all()
    np.testing.assert_array_equal(np.flatnonzero(held[0].held), [0, 2])


def test_a_dataset_with_one_value_is_refused_naming_it() -> None:
    table = pd.DataFrame({"dataset": ["a", "a", "b"], "subject": [1, 2, 3]})
    with pytest.raises(ConfigError) as err:
        held_out_values(table, "subject", "loso", why=" (because)")
    assert str(err.value) == (
        "loso: dataset 'b' has 1 distinct 'subject' value(s); need at least 2 (because)"
    )


def test_values_per_person_in_natural_order_missing_values_left_out() -> None:
    table = pd.DataFrame({"subject": [2, 1, 1, 2, 1, 2], "day": [10, 2, None, 2, 1, 10]})
    out = list(values_per_person(table, "day"))
    assert [(key, vals) for key, _, vals in out] == [((1,), [1, 2]), ((2,), [2, 10])]
    np.testing.assert_array_equal(np.flatnonzero(out[0][1]), [1, 2, 4])
