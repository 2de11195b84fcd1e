"""The hourly price or carbon signal `cooling.energy_signal.file` names: read and checked, with file:line errors.

Format: a CSV file (lines starting with `#` are comments), header `hour,value`, then one row per hour: an ISO
8601 UTC hour ('2026-12-04T17:00Z') and a number (EUR/MWh, gCO2/kWh: any unit, the schedule only ranks them).
Hours are consecutive; a day-ahead market publishes 24 of them at a time, and the renderer is meant to run again
when the next day's arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aifactory import resources
from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.blueprint.sources import CATALOGUE_PREFIX
from aifactory.errors import Location, UserError
from aifactory.files import read_bytes

MAX_BYTES = 1 << 20
MAX_HOURS = 24 * 31
HEADER = "hour,value"


@dataclass(frozen=True)
class Hour:
    start: datetime
    value: float


def _beside(blueprint: Location, name: str) -> tuple[Path, str]:
    """`name` in the folder of the blueprint file that wrote it (a catalogue blueprint's is the catalogue)."""
    shown = blueprint.file
    if shown.startswith(CATALOGUE_PREFIX):
        folder = resources.blueprints_dir()
    else:
        folder = Path(shown).parent
        if not (folder / name).exists() and folder.parts[:1] == ("blueprints",):
            folder = resources.blueprints_dir().joinpath(*folder.parts[1:])
    return folder / name, str(Path(shown).parent / name)


def _hour(text: str, where: Location) -> datetime:
    try:
        start = datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError:
        raise UserError.at(
            where, f"hour {text!r} is not an ISO 8601 UTC hour", "write it as YYYY-MM-DDTHH:00Z, e.g. 2026-12-04T17:00Z"
        ) from None
    if start.minute:
        raise UserError.at(where, f"hour {text!r} does not start on the hour", "use minute 00")
    return start


def _row(line: str, where: Location, previous: datetime | None) -> Hour:
    parts = line.split(",")
    if len(parts) != 2:
        raise UserError.at(where, f"row {line!r} is not `hour,value`", "write one hour and one number per row")
    start = _hour(parts[0].strip(), where)
    try:
        value = float(parts[1].strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise UserError.at(where, f"value {parts[1].strip()!r} is not a finite number", "write a number, e.g. 81.5")
    if previous is not None and start != previous + timedelta(hours=1):
        raise UserError.at(
            where,
            f"hour {parts[0].strip()} does not follow {previous:%Y-%m-%dT%H:%MZ}",
            "list consecutive hours, one per row, in order",
        )
    return Hour(start, value)


def load_signal(loaded: LoadedBlueprint) -> tuple[str, tuple[Hour, ...]] | None:
    """The signal's display name and its hours, or None where the blueprint names none."""
    signal = loaded.model.cooling.energy_signal
    if signal is None:
        return None
    at = loaded.locate("cooling", "energy_signal", "file")
    path, shown = _beside(at, signal.file)
    raw = read_bytes(path, shown, MAX_BYTES, "energy signal")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError.at(Location(shown), "the energy signal is not UTF-8 text", "save it as UTF-8 CSV") from None
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.startswith("#")]  # fmt: skip
    if not rows or rows[0][1].strip() != HEADER:
        raise UserError.at(
            Location(shown, rows[0][0] if rows else 1),
            f"the first line must be the header {HEADER!r}",
            f"start the file with `{HEADER}` (after any # comments)",
        )
    hours: list[Hour] = []
    for number, line in rows[1:]:
        where = Location(shown, number)
        hours.append(_row(line, where, hours[-1].start if hours else None))
        if len(hours) > MAX_HOURS:
            raise UserError.at(where, f"more than {MAX_HOURS} hours", "give at most a month of hours")
    if not hours:
        raise UserError.at(Location(shown, 1), "the energy signal has no hours", "add one `hour,value` row per hour")
    return shown, tuple(hours)
