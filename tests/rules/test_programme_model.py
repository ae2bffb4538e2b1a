"""The programme is read through its checked model only: typed, read only, and what a golden case's
what-if changes is a model made again from the model's own data."""

from __future__ import annotations

import pydantic
import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import merge
from ruralpost.service.rulebook import packs
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.rulebook.schema import ProgrammeModel

BOOK = packs.load(DEFAULT_RULES_DIR)


def test_the_programme_keeps_its_model_and_no_raw_mapping() -> None:
    programme = BOOK.programme
    assert isinstance(programme.model, ProgrammeModel)
    assert not hasattr(programme, "data")
    assert isinstance(programme.model.goals.village_points, int)
    assert isinstance(programme.model.area_volume.m2_per_daily_parcel, float)
    assert programme.model.sign_text.of("VILLAGE_POINT").endswith("快递便民服务点")


def test_the_model_is_read_only() -> None:
    with pytest.raises(pydantic.ValidationError):
        BOOK.programme.model.goals.village_points = 1  # type: ignore[misc]


def test_a_what_if_is_the_model_again_with_the_change() -> None:
    programme = BOOK.programme
    assert ProgrammeModel.model_validate(programme.model.model_dump()) == programme.model
    data = merge(programme.model.model_dump(), {"goals": {"village_points": 7}})
    what_if = Programme.read(data, BOOK.root / "programmes")
    assert what_if.model.goals.village_points == 7
    assert what_if.model.goals.township_stations == programme.model.goals.township_stations
    assert programme.model.goals.village_points != 7
