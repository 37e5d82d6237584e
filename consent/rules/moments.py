"""Time in the consent rules: ages, the local calendar date, the one-year validity, sane ranges.

Every moment is a parameter and timezone-aware; the limits of what counts as a real moment live
here, so the statement, decision, status and withdrawal rules all count time the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# A partner's clock may run a little ahead of ours; beyond this a "given at"
# in the future is a data error, not skew.
CLOCK_SKEW = timedelta(minutes=5)
#: No consent, withdrawal or validity end lies before this: earlier moments are data errors, and
#: keeping moments in range means date arithmetic (a year later, local dates) cannot overflow.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
#: Ages and deadlines are counted on the calendar date in the Netherlands: consent signed at 00:30
#: local time on a twelfth birthday is that day, although it is still the day before in UTC.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


def age_on(birth_date: date, on: date) -> int:
    """Leeftijd op de dag van toestemming (art. 6 lid 5, 6, 8): completed years.

    Someone born on 29 February turns a year older on 1 March in non-leap years.
    This is the conservative choice: the child is treated as younger until the
    full year has elapsed, so a stricter representation rule never lapses early.
    """
    if on < birth_date:
        raise ValueError("cannot compute an age before the birth date")
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def local_date(moment: datetime) -> date:
    """The calendar date in the Netherlands, on which ages (art. 6 lid 5-8, 16) and deadlines
    (art. 10 lid 3) are counted."""
    return moment.astimezone(LOCAL_TZ).date()


def effective_valid_until(given_at: datetime, requested: datetime | None) -> datetime:
    """Geldigheidsduur van een jaar (Bijlage VIII): default and maximum one year.

    One year after 29 February is 28 February: never longer than a year.
    Raises ValueError for a naive datetime or a requested end not after given_at
    (validate_consent_statement reports that case as a violation first).
    """
    _require_aware(given_at=given_at, requested=requested)
    limit = _one_year_after(given_at)
    if requested is None:
        return limit
    if requested <= given_at:
        raise ValueError("valid_until must be after given_at")
    # Compare before converting: a far-off requested end (year 9999 with a negative offset)
    # cannot be expressed in UTC, but it is past the limit anyway.
    return limit if requested >= limit else requested.astimezone(UTC)


def in_supported_range(moment: datetime, now: datetime) -> bool:
    """Whether `moment` lies between 1900 and a year after `now` (plus clock skew).

    Only moments in this range are converted or shifted (UTC, local date, one year later), so no
    input can make the date arithmetic overflow. Comparing aware datetimes never overflows.
    """
    return EARLIEST_MOMENT <= moment <= _one_year_after(now) + CLOCK_SKEW


def _one_year_after(moment: datetime) -> datetime:
    # Work in UTC: datetimes sharing one tzinfo compare by wall time, which
    # would make a DST zone's "one year" an hour longer than a year.
    utc = moment.astimezone(UTC)
    try:
        return utc.replace(year=utc.year + 1)
    except ValueError:  # 29 February in a year followed by a non-leap year
        return utc.replace(year=utc.year + 1, day=28)


def _require_aware(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
