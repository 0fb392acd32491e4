"""The web UI in a real browser (Debian's headless Chromium through Selenium), on a real cluster of
`hasched run` instances and `rq worker`s. Screenshots of each page land in tests/artifacts/."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cluster import Cluster, ClusterFactory
from helpers import redis_now, wait_for
from redis import Redis
from web_helpers import TOKEN, Served, chrome, need, screenshot

from hasched import Scheduler
from hasched._store import Store
from hasched.web import create_app

pytestmark = pytest.mark.slow
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@pytest.fixture()
def driver() -> Iterator[Any]:
    need("chromium")
    d = chrome()
    yield d
    d.quit()


@pytest.fixture()
def running(cluster_factory: ClusterFactory, redis: Redis) -> Cluster:
    """Two scheduler instances and a worker, with a few schedules of every kind."""
    # A 5 s lease: a silent instance is forgotten after 2 TTLs, so it stays listed as stale for
    # long enough (10 s) for the Cluster page test to see it even on a loaded machine.
    c = cluster_factory(lease_ttl=5.0)
    s = Scheduler(redis)
    s.every("heartbeat-ping", 2, "jobs.record", args=["ping"], description="Every 2 s, so runs show up")
    s.cron("nightly-report", "0 3 * * *", "jobs.record", timezone="Europe/Paris", queue="default",
           description="The nightly sales report, 03:00 Paris time")  # fmt: skip
    s.cron("broken-export", "*/5 * * * *", "jobs.fail", args=["export failed: disk full"],
           description="Fails on purpose")  # fmt: skip
    s.every("weekly-cleanup", 7 * 86400, "jobs.record", queue="low", paused=True)
    for name in ("a", "b"):
        c.start_instance(name)
    c.start_worker()
    c.wait_leader()
    wait_for(lambda: redis.hget("{hasched}:fires", "heartbeat-ping"), timeout=15)
    return c


def sign_in(driver: Any, served: Served, path: str = "/") -> None:
    driver.get(served.url + path)
    assert "/login" in driver.current_url
    driver.find_element("name", "token").send_keys(TOKEN)
    driver.find_element("css selector", "form.login button").click()
    wait_for(lambda: "/login" not in driver.current_url)


def text(driver: Any) -> str:
    """The page's visible text, read in one step (the page may reload itself at any moment)."""
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


def reload_until(driver: Any, wanted: str, timeout: float = 20) -> None:
    def shows() -> bool:
        driver.refresh()
        return wanted in text(driver)

    wait_for(shows, timeout=timeout, interval=0.5)


def test_manage_schedules_of_a_running_cluster(driver: Any, running: Cluster, redis: Redis) -> None:
    scheduler = Scheduler(redis)
    with Served(create_app(redis, token=TOKEN)) as served:
        sign_in(driver, served)
        body = text(driver)
        for sid in ("heartbeat-ping", "nightly-report", "broken-export", "weekly-cleanup"):
            assert sid in body
        assert "cron 0 3 * * * Europe/Paris" in body and "paused" in body
        reload_until(driver, "finished")  # heartbeat-ping's last run, done by the worker
        screenshot(driver, "schedules")

        driver.get(f"{served.url}/schedules/nightly-report")
        page = text(driver)
        assert "Europe/Paris" in page and ("03:00:00 CET" in page or "03:00:00 CEST" in page)
        screenshot(driver, "schedule")

        driver.find_element("name", "note").send_keys("DB migration, back at 6")
        driver.find_element("css selector", "button[value=pause]").click()
        wait_for(lambda: "Paused." in text(driver))
        assert scheduler.get("nightly-report").paused is True
        assert scheduler.describe("nightly-report")["pause_note"] == "DB migration, back at 6"
        assert "DB migration, back at 6" in text(driver)
        screenshot(driver, "schedule-paused")

        driver.find_element("css selector", "button[value=resume]").click()
        wait_for(lambda: "Resumed" in text(driver))
        assert scheduler.get("nightly-report").paused is False

        driver.find_element("css selector", "button[value=trigger]").click()
        wait_for(lambda: "Triggered" in text(driver))
        job_id = driver.find_element("css selector", ".notice code").text
        assert job_id.startswith("hasched-") and "-nightly-report-t" in job_id
        reload_until(driver, job_id)
        reload_until(driver, "finished")  # the worker ran it, and the page says so

        driver.get(f"{served.url}/schedules/broken-export")
        driver.find_element("css selector", "button[value=trigger]").click()
        reload_until(driver, "RuntimeError: export failed: disk full")  # the run record's error
        assert Scheduler(redis).history("broken-export", n=1)[0]["status"] == "failed"
        screenshot(driver, "schedule-failing")

        driver.get(f"{served.url}/schedules/heartbeat-ping")  # every 2 s: pausing it misses fires
        driver.find_element("name", "note").send_keys("noisy, off for a moment")
        driver.find_element("css selector", "button[value=pause]").click()
        wait_for(lambda: "Paused." in text(driver))
        assert "Paused: noisy, off for a moment" in text(driver)
        store = Store(redis, "hasched")
        paused_at = store.now_us()
        wait_for(lambda: store.now_us() > paused_at + 2_500_000, timeout=10)  # a fire fell due
        driver.find_element("css selector", "button[value=resume]").click()
        wait_for(lambda: "Resumed" in text(driver))
        missed = driver.find_element("css selector", "tr.missed").text
        count = scheduler.history("heartbeat-ping", n=1)[0]["count"]
        assert f"{count} fire{'s' if count > 1 else ''} not run while paused" in missed
        screenshot(driver, "schedule-missed")
        driver.get(served.url + "/")
        assert "failed" in text(driver)  # broken-export's last run, flagged in the list
        screenshot(driver, "schedules-after-runs")  # the README's picture (docs/web-ui.png)

        driver.get(f"{served.url}/schedules/weekly-cleanup")
        driver.find_element("link text", "Delete…").click()
        screenshot(driver, "delete")
        driver.find_element("css selector", "button[value=delete]").click()
        wait_for(lambda: "Deleted." in text(driver))
        assert "weekly-cleanup" not in [s.id for s in scheduler.list()]


def test_backfill_a_range_from_the_schedule_page(driver: Any, running: Cluster, redis: Redis) -> None:
    scheduler = Scheduler(redis)
    day = (redis_now(redis).astimezone(ZoneInfo("Europe/Paris")) - timedelta(days=4)).date()
    with Served(create_app(redis, token=TOKEN)) as served:
        sign_in(driver, served, "/schedules/nightly-report")

        def backfill(start: str, end: str, dry_run: bool = False) -> None:
            driver.find_element("css selector", "details.backfill summary").click()
            driver.find_element("name", "from").send_keys(start)
            driver.find_element("name", "to").send_keys(end)
            if dry_run:
                driver.find_element("name", "dry_run").click()
            driver.find_element("css selector", "button[value=backfill]").click()

        three = (f"{day}T00:00", f"{day + timedelta(days=3)}T00:00")  # Paris time: 03:00 on 3 days
        backfill(*three, dry_run=True)
        wait_for(lambda: "Dry run: 3 fires would be enqueued (0 enqueued before)." in text(driver))
        assert scheduler.describe("nightly-report")["counters"]["enqueued"] == 0
        backfill(*three)
        wait_for(lambda: "Backfilled: 3 fires enqueued (0 enqueued before)." in text(driver))
        runs = scheduler.history("nightly-report")
        assert [r["kind"] for r in runs] == ["backfill"] * 3
        assert sorted(r["fire_time"][:10] for r in runs) == [str(day + timedelta(days=k)) for k in range(3)]
        wait_for(lambda: [r["status"] for r in scheduler.history("nightly-report")] == ["finished"] * 3, 20)
        reload_until(driver, "backfill")  # the history shows them, run by the worker
        screenshot(driver, "schedule-backfilled")
        backfill(*three)
        wait_for(lambda: "Backfilled: 0 fires enqueued (3 enqueued before)." in text(driver))
        backfill(three[0], "2999-01-01T00:00")
        wait_for(lambda: "must not be after now" in text(driver))  # the error page says why
    assert len(scheduler.history("nightly-report")) == 3


def test_cluster_page_shows_the_leader_and_a_stale_instance(
    driver: Any, running: Cluster, redis: Redis
) -> None:
    with Served(create_app(redis, token=TOKEN, stale_after=1.0)) as served:
        sign_in(driver, served, "/cluster")
        leader, epoch = running.wait_leader()
        body = text(driver)
        assert leader in body and str(epoch) in body and "stale" not in body
        follower = "b" if leader == "a" else "a"
        running.instances[follower].signal(signal.SIGSTOP)  # alive but silent: a hung host
        try:
            reload_until(driver, "stale", timeout=10)
            screenshot(driver, "cluster")
        finally:
            running.instances[follower].signal(signal.SIGCONT)


def test_read_only_shows_no_action(driver: Any, running: Cluster, redis: Redis) -> None:
    with Served(create_app(redis, token=TOKEN, read_only=True)) as served:
        sign_in(driver, served, "/schedules/heartbeat-ping")
        assert "read-only" in text(driver)
        assert driver.find_elements("css selector", "main button, main form[method=post]") == []
        assert driver.find_elements("link text", "Delete…") == []
        screenshot(driver, "schedule-read-only")


def test_injected_markup_never_runs(driver: Any, redis: Redis) -> None:
    s = Scheduler(redis)
    s.every("xss", 3600, "jobs.record", args=list(XSS), kwargs={"k": XSS[1]}, description=" ".join(XSS))
    s.pause("xss", note=" ".join(XSS))
    with Served(create_app(redis, token=TOKEN)) as served:
        sign_in(driver, served)
        for path in ("/", "/schedules/xss"):
            driver.get(served.url + path)
            assert "<script>alert(1)</script>" in text(driver)  # shown, as text
            assert driver.find_elements("css selector", "img") == []
            scripts = driver.find_elements("tag name", "script")
            assert all("alert" not in (e.get_attribute("innerHTML") or "") for e in scripts)
            assert driver.execute_script("return document.querySelectorAll('[onerror]').length") == 0
            alert = driver.execute_script("return window.__alerted || null")
            assert alert is None
            from selenium.common.exceptions import NoAlertPresentException

            with pytest.raises(NoAlertPresentException):
                driver.switch_to.alert.text  # noqa: B018 -- raises when no alert is open


def test_pages_on_a_phone(running: Cluster, redis: Redis) -> None:
    need("chromium")
    phone = chrome(390, 844)
    try:
        with Served(create_app(redis, token=TOKEN)) as served:
            sign_in(phone, served)
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, f"the list scrolls sideways on a phone ({width}px)"
            screenshot(phone, "phone-schedules")
            phone.get(f"{served.url}/schedules/nightly-report")
            assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
            screenshot(phone, "phone-schedule")
    finally:
        phone.quit()
