"""Fuzz the dashboard's form and query endpoints (not in the OpenAPI schema) for 5xx answers.

Run against a live loopback server (see scripts/fuzz_api.sh, which sets it up):
    python scripts/fuzz_dashboard.py BASE_URL SESSIONID CSRFTOKEN CAMERA_SLUG MAX_EVENT_ID [EXAMPLES]
Every URL it sends stays on BASE_URL; pull-source URLs point at 127.0.0.1 only. Exits 1 on any 5xx."""

from __future__ import annotations

import sys

import requests
from hypothesis import HealthCheck, given, settings, strategies as st

BASE, SESSION, CSRF, SLUG, EVENT = sys.argv[1:6]
EXAMPLES = int(sys.argv[6]) if len(sys.argv) > 6 else 50
client = requests.Session()
client.cookies.update({"sessionid": SESSION, "csrftoken": CSRF})
client.headers.update({"X-CSRFToken": CSRF, "Referer": BASE + "/", "HX-Request": "true"})
failures: list[str] = []

junk = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "[]", "{}", "null", "\x00", "9999-12-31", "0001-01-01",
                     "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00", "2024-02-30", "[" * 5000 + "]" * 5000,
                     "[[0.1,0.1],[0.10000001,0.1],[0.9,0.9],[0.1,0.9]]", "=HYPERLINK(\"x\")"]),
)
num = st.one_of(st.integers(-5, 60).map(str), junk)  # mostly near-valid, so the forms reach their save path
dates = st.one_of(junk, st.dates().map(str), st.datetimes().map(lambda d: d.isoformat()))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def send(method: str, path: str, **kwargs) -> None:
    request = client.prepare_request(requests.Request(method, BASE + path, **kwargs))
    if len(request.url) > 16_000:  # daphne (Twisted) drops a request line over 16 KiB before the app sees it
        return
    try:
        response = client.send(request, timeout=30, allow_redirects=False)
    except requests.RequestException as exc:  # a dropped connection is as bad as a 500
        failures.append(f"{method} {path} {kwargs!r:.300}: {exc!r}")
        return
    if response.status_code >= 500:
        failures.append(f"{method} {path} {kwargs!r:.300}: {response.status_code}")


def form(**fields):
    return st.fixed_dictionaries({}, optional=fields)


THRESHOLDS = {"critical_level": num, "target_capacity": num, "smoothing_window": num}


@SETTINGS
@given(st.one_of(st.fixed_dictionaries(THRESHOLDS), form(**THRESHOLDS)))
def thresholds(data):
    send("POST", f"/cameras/{SLUG}/thresholds/", data=data)


@SETTINGS
@given(form(zones=st.one_of(junk, st.lists(st.lists(st.lists(st.one_of(st.floats(), st.integers(), junk),
                                                                   max_size=3), max_size=6), max_size=3).map(str))))
def zones(data):
    send("POST", f"/cameras/{SLUG}/zones/", data=data)


@SETTINGS
@given(form(correct_count=num, note=junk), st.one_of(st.integers(1, int(EVENT)).map(str), st.integers(0, 2**70).map(str)))
def flag(data, event):
    send("POST", f"/cameras/{SLUG}/events/{event}/flag/", data=data)


@SETTINGS
@given(st.one_of(st.integers(1, 10), st.integers(0, 2**70)), form(note=junk, camera=junk, show=junk))
def alert_ack(alert_id, data):
    send("POST", f"/alerts/{alert_id}/ack/", data=data)


@SETTINGS
@given(form(channel=st.one_of(junk, st.sampled_from(["webhook", "email", "sns", "push"])), webhook=junk,
            camera=junk, show=junk))
def alert_test(data):
    send("POST", "/alerts/test/", data=data)


loopback_url = st.one_of(junk, st.text(max_size=30).map(lambda p: "http://127.0.0.1:9/" + p),
                         st.text(max_size=30).map(lambda p: "rtsp://127.0.0.1:" + p))


@SETTINGS
@given(form(action=st.sampled_from(["save", "test", "remove", "x"]), url=loopback_url,
            auth=st.one_of(junk, st.sampled_from(["basic", "digest", "none"])), username=junk, password=junk,
            interval_s=num, timeout_s=st.one_of(num, st.just("1")), tls_verify=junk))
def pull_source(data):
    if data.get("action") == "test" and "://" in data.get("url", "") and not data["url"].startswith(("http://127.0.0.1:", "rtsp://127.0.0.1:")):
        data["url"] = "no scheme"  # never let a test fetch leave loopback
    if "://" in data.get("url", "") and not data["url"].startswith(("http://127.0.0.1:", "rtsp://127.0.0.1:")):
        data["url"] = "no scheme"
    send("POST", f"/cameras/{SLUG}/source/", data=data)


QUERY_PATHS = [f"/cameras/{SLUG}/trends/", f"/cameras/{SLUG}/trends/data/", f"/cameras/{SLUG}/readings.csv",
               "/reports/stockouts/", "/reports/stockouts/today/", "/alerts/", "/", "/partials/status/",
               "/partials/inventory/", "/partials/activity/", f"/cameras/{SLUG}/", "/inspector/"]


@SETTINGS
@given(st.sampled_from(QUERY_PATHS),
       form(start=dates, end=dates, range=st.one_of(junk, st.sampled_from(["24h", "7d", "30d", "custom"])),
            period=st.one_of(junk, st.sampled_from(["day", "week", "month"])), format=st.one_of(junk, st.just("csv")),
            empty=junk, camera=junk, show=junk, event=junk, q=junk, sort=junk, status=junk, page=junk))
def queries(path, params):
    send("GET", path, params=params)


if __name__ == "__main__":
    for test in (thresholds, zones, flag, alert_ack, alert_test, pull_source, queries):
        before = len(failures)
        test()
        print(f"{test.__name__}: {EXAMPLES} examples, {len(failures) - before} 5xx", flush=True)
    for failure in dict.fromkeys(failures):
        print("5xx:", failure)
    sys.exit(1 if failures else 0)
