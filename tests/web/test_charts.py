"""The server-made SVG charts: proportional bars, zero and empty data, negative layers,
escaped labels, and well-formed, labelled XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from parking.web.charts import Series, bar_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}rect[@class='bar']")


def _chart(**overrides: object) -> str:
    options: dict = {
        "chart_id": "c",
        "title": "Utilization",
        "labels": ["2026-09", "2026-10", "2026-11"],
        "values": [100, 300, 200],
        "x_label": "Month",
        "y_label": "Percent",
        "empty_text": "No data",
    }
    options.update(overrides)
    return bar_chart(**options)


def test_bar_heights_are_proportional_to_values() -> None:
    bars = _bars(_chart())
    assert len(bars) == 3
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] > 0
    assert heights[1] == pytest.approx(3 * heights[0], rel=1e-3)
    assert heights[2] == pytest.approx(2 * heights[0], rel=1e-3)
    # Bars stand on the same baseline, the zero line.
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 2) for b in bars}
    assert len(bottoms) == 1
    assert [b.get("data-value") for b in bars] == ["100", "300", "200"]


def test_a_fixed_top_keeps_percentages_on_one_scale() -> None:
    low = _bars(_chart(values=[10, 20, 5], max_value=100))
    tall = _bars(_chart(values=[100, 20, 5], max_value=100))
    assert float(low[1].get("height")) == pytest.approx(float(tall[1].get("height")))


def test_zero_values_draw_flat_bars_and_empty_data_says_so() -> None:
    bars = _bars(_chart(values=[0, 0, 0]))
    assert [float(b.get("height")) for b in bars] == [0, 0, 0]
    empty = ET.fromstring(_chart(labels=[], values=[]))
    assert empty.findall(f"{SVG}rect") == []
    assert "No data" in [t.text for t in empty.iter(f"{SVG}text")]
    assert empty.find(f"{SVG}title").text == "Utilization"
    with pytest.raises(ValueError):
        _chart(values=[1, 2])


def _revenue(**overrides: object) -> str:
    options: dict = {
        "chart_id": "r",
        "title": "Revenue",
        "labels": ["2026-10", "2026-11"],
        "series": [
            Series("Per use", [1000, 3000], "#0b6e4f"),
            Series("Passes", [2000, 0], "#3b82c4"),
            Series("Refunds", [0, -1000], "#9aa3ae"),
        ],
        "x_label": "Month",
        "y_label": "CNY",
        "empty_text": "No data",
    }
    options.update(overrides)
    return stacked_bar_chart(**options)


def test_stacked_layers_stack_up_and_refunds_go_below_zero() -> None:
    bars = _bars(_revenue())
    # Zero layers are not drawn: October per use + passes, November per use + refund.
    assert [b.get("data-value") for b in bars] == ["1000", "2000", "3000", "-1000"]
    per_use_oct, passes_oct, per_use_nov, refund_nov = bars
    unit = float(per_use_oct.get("height")) / 1000
    assert float(passes_oct.get("height")) == pytest.approx(2000 * unit, rel=1e-3)
    assert float(per_use_nov.get("height")) == pytest.approx(3000 * unit, rel=1e-3)
    assert float(refund_nov.get("height")) == pytest.approx(1000 * unit, rel=1e-3)
    # Passes sit on top of per use; the refund hangs from the zero line, below it.
    zero = float(per_use_oct.get("y")) + float(per_use_oct.get("height"))
    assert float(passes_oct.get("y")) + float(passes_oct.get("height")) == pytest.approx(
        float(per_use_oct.get("y"))
    )
    assert float(refund_nov.get("y")) == pytest.approx(zero)
    assert float(per_use_nov.get("y")) + float(per_use_nov.get("height")) == pytest.approx(zero)


def test_the_legend_names_every_layer() -> None:
    root = ET.fromstring(_revenue())
    legend = [g.find(f"{SVG}text").text for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    assert legend == ["Per use", "Passes", "Refunds"]
    assert (
        stacked_bar_chart(
            chart_id="e",
            title="Revenue",
            labels=[],
            series=[],
            x_label="Month",
            y_label="CNY",
            empty_text="No data",
        ).count("<rect")
        == 0
    )


def test_labels_are_escaped_and_stay_text() -> None:
    evil = '<script>alert("x")</script>'
    svg = _chart(
        title=evil, labels=[evil, "a & b", "it's"], x_label=evil, y_label=evil, empty_text=evil
    )
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}script") is None and not list(root.iter(f"{SVG}script"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert evil in texts and "a & b" in texts and "it's" in texts
    assert root.get("aria-label") == evil
    stacked = _revenue(series=[Series(evil, [1, 2], '"><script>')])
    assert "<script>" not in stacked
    ET.fromstring(stacked)


@pytest.mark.parametrize("svg", [_chart(), _chart(labels=[], values=[]), _revenue()])
def test_every_chart_is_valid_labelled_xml(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text and root.get("aria-labelledby") == title.get("id")
    # Every bar says what it is worth, for a screen reader or a hover.
    for bar in root.findall(f"{SVG}rect[@class='bar']"):
        assert bar.find(f"{SVG}title").text
    # The axes are labelled.
    classes = {t.get("class") for t in root.iter(f"{SVG}text")}
    if root.findall(f"{SVG}rect[@class='bar']"):
        assert {"x-label", "y-label", "tick", "category"} <= classes
