"""The trends page in a real headless Chromium against a live Daphne, with the real model on real frames."""

from __future__ import annotations

import statistics

import pytest

from tests.dashboard import live

pytestmark = pytest.mark.browser

# Red pixels on the row of the chart's canvas where the given count is drawn.
RED_AT_CRITICAL_LEVEL = """(level) => {
  const u = window.trendsPlot, y = Math.round(u.valToPos(level, "y", true));
  const row = u.ctx.getImageData(u.bbox.left, y - 1, u.bbox.width, 3).data;
  let red = 0;
  for (let i = 0; i < row.length; i += 4) if (row[i] > 200 && row[i + 1] < 120 && row[i + 2] < 120) red++;
  return red;
}"""


def test_the_trends_chart_renders_and_a_new_frame_extends_it(live_server_proc, new_page, real_images):
    url, key = live_server_proc.url, live_server_proc.keys["e2e-trends"]
    first = live.post_frame(url, key, real_images[0])
    page = new_page()
    live.log_in(page, url, "viewer", path="/cameras/e2e-trends/trends/")
    page.wait_for_selector("#trends[data-live=live]", timeout=10_000)
    page.wait_for_selector("#trend-chart canvas", timeout=10_000)  # uPlot drew (served from our static files)
    assert page.inner_text("#trend-frames") == "1"
    assert page.get_attribute("#trend-chart", "data-points") == "1"
    assert float(page.get_attribute("#trend-chart", "data-last-count")) == first["count"]
    # The critical level (3 in the live setup) is drawn as a red dashed line across the plot.
    assert page.evaluate(RED_AT_CRITICAL_LEVEL, 3) > 0
    assert page.locator(f"#status-timeline [data-status={first['status']}]").count() == 1
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    second = live.post_frame(url, key, real_images[1])
    page.wait_for_function("() => document.getElementById('trend-frames').textContent === '2'", timeout=10_000)
    last = float(page.get_attribute("#trend-chart", "data-last-count"))
    # Same minute: the point is the median of both frames; if the minute turned, a new point with the new count.
    points = int(page.get_attribute("#trend-chart", "data-points"))
    expected = statistics.median([first["count"], second["count"]]) if points == 1 else second["count"]
    assert last == expected
    assert page.evaluate("window.__sameDocument") is True
