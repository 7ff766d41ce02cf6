"""The ledger rules: signs, refunds, monthly statements and revenue by kind."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pricing import (
    Charge,
    ChargeError,
    ChargeKind,
    ledger_month,
    revenue_by_kind,
    statement,
    validate_charge,
)
from pricing.plans import LOCAL_TZ
from tests.pricing.strategies import aware_instants, charges

D = dt.date


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def charge(
    charge_id: int, kind: ChargeKind, amount_fen: int, created_at: dt.datetime, **ties: object
) -> Charge:
    if not ties:
        ties = {"pass_id": 1} if kind is ChargeKind.PASS else {"reservation_id": charge_id}
    return Charge(
        charge_id=charge_id, kind=kind, amount_fen=amount_fen, created_at=created_at, **ties
    )


@given(
    st.sampled_from(ChargeKind),
    st.integers(-(10**9), 10**9),
    st.none() | st.integers(1, 100),
    st.none() | st.integers(1, 100),
    st.none() | st.integers(1, 100),
    aware_instants,
)
def test_no_charge_is_negative_except_a_refund(
    kind: ChargeKind,
    amount_fen: int,
    reservation_id: int | None,
    pass_id: int | None,
    refund_of: int | None,
    created_at: dt.datetime,
) -> None:
    try:
        made = Charge(
            kind=kind,
            amount_fen=amount_fen,
            created_at=created_at,
            reservation_id=reservation_id,
            pass_id=pass_id,
            refund_of=refund_of,
        )
    except ValidationError:
        # Whatever was refused must have broken a rule; a valid non-negative charge never is.
        valid_non_refund = (
            kind is not ChargeKind.REFUND
            and amount_fen >= 0
            and refund_of is None
            and (pass_id if kind is ChargeKind.PASS else reservation_id) is not None
        )
        valid_refund = kind is ChargeKind.REFUND and amount_fen < 0 and refund_of is not None
        assert not (valid_non_refund or valid_refund)
        return
    if made.kind is ChargeKind.REFUND:
        assert made.amount_fen < 0 and made.refund_of is not None
    else:
        assert made.amount_fen >= 0


def test_a_charge_refuses_float_fen_and_naive_times() -> None:
    with pytest.raises(ValidationError):
        Charge(kind="per_use", amount_fen=1000.0, created_at=at(12, 5), reservation_id=1)
    with pytest.raises(ValidationError):
        Charge(
            kind="per_use", amount_fen=1000, created_at=dt.datetime(2026, 12, 5), reservation_id=1
        )
    with pytest.raises(ValidationError, match="tied to its reservation or session"):
        Charge(kind="overstay", amount_fen=1000, created_at=at(12, 5))
    assert (
        Charge(kind="overstay", amount_fen=1000, created_at=at(12, 5), session_id=3).session_id == 3
    )


def test_seed_refunds_never_exceed_the_charge_they_correct() -> None:
    fee = charge(1, ChargeKind.PER_USE, 1000, at(12, 5, 23))
    ledger = [fee]
    first = charge(2, ChargeKind.REFUND, -600, at(12, 6), refund_of=1)
    validate_charge(first, ledger)
    ledger.append(first)
    second = charge(3, ChargeKind.REFUND, -400, at(12, 7), refund_of=1)
    validate_charge(second, ledger)  # 600 + 400 = 1000: the whole fee back, no more
    ledger.append(second)
    with pytest.raises(ChargeError, match="above its 1000 fen"):
        validate_charge(charge(4, ChargeKind.REFUND, -1, at(12, 8), refund_of=1), ledger)


def test_a_refund_needs_a_real_earlier_charge_that_is_not_a_refund() -> None:
    fee = charge(1, ChargeKind.LATE_CANCEL, 500, at(12, 5, 21))
    refund = charge(2, ChargeKind.REFUND, -500, at(12, 6), refund_of=1)
    with pytest.raises(ChargeError, match="not in the ledger"):
        validate_charge(charge(3, ChargeKind.REFUND, -100, at(12, 6), refund_of=99), [fee, refund])
    with pytest.raises(ChargeError, match="cannot be refunded"):
        validate_charge(charge(3, ChargeKind.REFUND, -100, at(12, 6), refund_of=2), [fee, refund])
    with pytest.raises(ChargeError, match="cannot precede"):
        validate_charge(charge(3, ChargeKind.REFUND, -100, at(12, 5, 20), refund_of=1), [fee])
    with pytest.raises(ChargeError, match="already in the ledger"):
        validate_charge(charge(1, ChargeKind.PER_USE, 1000, at(12, 6)), [fee])
    with pytest.raises(ValidationError, match="names the charge"):
        Charge(kind="refund", amount_fen=-100, created_at=at(12, 6))
    with pytest.raises(ValidationError, match="negative"):
        Charge(kind="refund", amount_fen=0, created_at=at(12, 6), refund_of=1)


@given(st.integers(0, 100_000), st.lists(st.integers(1, 60_000), max_size=8))
def test_accepted_refunds_never_sum_past_the_charge(fee_fen: int, attempts_fen: list[int]) -> None:
    ledger = [charge(1, ChargeKind.PER_USE, fee_fen, at(12, 5))]
    for charge_id, amount_fen in enumerate(attempts_fen, start=2):
        refund = charge(charge_id, ChargeKind.REFUND, -amount_fen, at(12, 6), refund_of=1)
        try:
            validate_charge(refund, ledger)
        except ChargeError:
            # Refused only when it would have gone past the fee.
            assert amount_fen - sum(c.amount_fen for c in ledger[1:]) > fee_fen
            continue
        ledger.append(refund)
    assert 0 <= sum(c.amount_fen for c in ledger) <= fee_fen


def test_ledger_month_is_the_local_month_of_recording() -> None:
    # 16:30 UTC on 30 November is 00:30 on 1 December in Shanghai.
    late = charge(1, ChargeKind.OVERSTAY, 1000, dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC))
    assert ledger_month(late) == D(2026, 12, 1)
    assert ledger_month(late, tz=dt.UTC) == D(2026, 11, 1)


def seed_ledger() -> list[Charge]:
    # One resident around the seed switch on 1 December 2026.
    return [
        charge(1, ChargeKind.PASS, 30000, at(11, 1, 9), pass_id=11),  # November pass
        charge(2, ChargeKind.PER_USE, 1000, at(12, 3, 8, 5)),
        charge(3, ChargeKind.PER_USE, 1000, at(12, 5, 8, 1)),
        charge(4, ChargeKind.OVERSTAY, 2000, at(12, 5, 9, 20)),  # 2 started hours
        charge(5, ChargeKind.LATE_CANCEL, 500, at(12, 9, 21)),
        charge(6, ChargeKind.NO_SHOW, 1000, at(12, 12, 8)),
        charge(7, ChargeKind.REFUND, -1000, at(12, 13, 10), refund_of=6),  # no-show waived
        charge(8, ChargeKind.PER_USE, 1000, at(12, 31, 23, 59)),
        charge(9, ChargeKind.PER_USE, 1000, dt.datetime(2027, 1, 1, 0, 0, tzinfo=LOCAL_TZ)),
    ]


def test_seed_december_statement_by_hand() -> None:
    december = statement(seed_ledger(), D(2026, 12, 1))
    # 1000 + 1000 + 2000 + 500 + 1000 - 1000 + 1000 = 5500 fen = 55 CNY
    assert december.total_fen == 5500
    assert [line.charge_id for line in december.lines] == [2, 3, 4, 5, 6, 7, 8]
    assert december.lines[5].description == "refund, of charge 6"
    assert statement(seed_ledger(), D(2026, 11, 1)).total_fen == 30000
    assert statement(seed_ledger(), D(2027, 1, 1)).total_fen == 1000
    assert statement(seed_ledger(), D(2026, 10, 1)).lines == ()
    with pytest.raises(ValueError, match="first day"):
        statement(seed_ledger(), D(2026, 12, 2))


def test_seed_revenue_by_kind_by_hand() -> None:
    december = revenue_by_kind(seed_ledger(), D(2026, 12, 1))
    assert december == {
        ChargeKind.PER_USE: 3000,  # charges 2, 3 and 8
        ChargeKind.NO_SHOW: 1000,
        ChargeKind.OVERSTAY: 2000,
        ChargeKind.LATE_CANCEL: 500,
        ChargeKind.PASS: 0,
        ChargeKind.REFUND: -1000,
    }
    everything = revenue_by_kind(seed_ledger())
    assert everything[ChargeKind.PASS] == 30000
    assert sum(everything.values()) == 30000 + 5500 + 1000


@st.composite
def ledgers(draw: st.DrawFn) -> list[Charge]:
    ledger: list[Charge] = []
    for charge_id in range(1, draw(st.integers(0, 25)) + 1):
        refundable = [c for c in ledger if c.kind is not ChargeKind.REFUND and c.amount_fen > 0]
        if refundable and draw(st.booleans()):
            target = draw(st.sampled_from(refundable))
            refund = Charge(
                charge_id=charge_id,
                kind=ChargeKind.REFUND,
                amount_fen=-draw(st.integers(1, target.amount_fen)),
                created_at=target.created_at
                + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=60))),
                refund_of=target.charge_id,
            )
            try:
                validate_charge(refund, ledger)
            except ChargeError:
                continue
            ledger.append(refund)
        else:
            ledger.append(draw(charges(charge_id)))
    return ledger


@given(ledgers())
def test_a_statement_sums_to_its_ledger_rows(ledger: list[Charge]) -> None:
    months = {ledger_month(c) for c in ledger}
    for month in months:
        rows = [c for c in ledger if ledger_month(c) == month]
        sheet = statement(ledger, month)
        assert sheet.total_fen == sum(c.amount_fen for c in rows)
        assert sorted(line.charge_id for line in sheet.lines) == sorted(c.charge_id for c in rows)
        assert sum(revenue_by_kind(ledger, month).values()) == sheet.total_fen
    # Every row lands on exactly one statement.
    assert sum(statement(ledger, m).total_fen for m in months) == sum(c.amount_fen for c in ledger)
    assert all(c.amount_fen >= 0 or c.kind is ChargeKind.REFUND for c in ledger)
