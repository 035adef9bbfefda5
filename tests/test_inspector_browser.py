"""The simulator's inspector page in a real browser: headless Chromium driven by selenium, while
the SDK makes songs against the gateway in the test's event loop.

Selenium blocks, so every browser call runs in a worker thread (`asyncio.to_thread`): the loop
stays free to serve the page, the gateway and the SDK's receiver meanwhile. Waits are explicit
(`WebDriverWait` on a condition, generous for a busy machine), never fixed sleeps.

Screenshots go to ``$TMPDIR/anyint-music-screenshots``. With ``ANYINT_DOCS_SCREENSHOT=1`` the
last test also refreshes ``docs/inspector.png``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from _gateway_helpers import Receiver, submit
from _helpers import SCREENSHOTS
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from anyint_music import AnyIntMusic, Model, TaskFailedError
from anyint_music.testing import FakeGateway

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="no chromium/chromedriver on PATH (apt-get install chromium chromium-driver; "
        ".ci/run does)",
    ),
    pytest.mark.anyint(inspector=True),
]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(tempfile.gettempdir()) / "anyint-music-screenshots"
WAIT = 30.0  # seconds; generous because CI shares a busy machine
HOSTILE = '<img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>'
T = TypeVar("T")

# The state of one task's card, once it shows `count` deliveries (else null).
CARD = """
const card = document.querySelector(`li.task[data-id="${arguments[0]}"]`);
if (!card) return null;
const deliveries = [...card.querySelectorAll(".delivery")];
if (deliveries.length < arguments[1]) return null;
return {
  phase: card.dataset.phase,
  stages: [...card.querySelectorAll(".timeline [data-stage]")].map((e) => e.dataset.stage),
  statuses: deliveries.map((e) => e.dataset.status),
  answers: deliveries.map((e) => e.querySelector(".answer").textContent),
  kinds: deliveries.map((e) => (e.querySelector(".kind") || {}).textContent || ""),
  audio: [...card.querySelectorAll("audio[controls]")].map((e) => e.getAttribute("src")),
  images: [...card.querySelectorAll("img")].map((e) => [e.getAttribute("src"), e.alt]),
  failure: (card.querySelector(".problem.failure") || {}).textContent || null,
};
"""


class Page:
    """The browser, seen from async tests: each call runs in a thread."""

    def __init__(self, driver: WebDriver, name: str) -> None:
        self.driver = driver
        self.name = name

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    async def open(self, url: str, *, width: int = 1280, height: int = 900) -> None:
        def go() -> None:
            # An exact viewport (window sizes include the browser's own frame).
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            self.driver.get(url)

        await self._run(go)
        await self.until("return document.getElementById('live').textContent.startsWith('Live')")

    async def js(self, script: str, *args: Any) -> Any:
        return await self._run(lambda: self.driver.execute_script(script, *args))

    async def until(self, script: str, *args: Any, what: str | None = None) -> Any:
        """Wait until `script` returns something truthy in the page; return it."""

        def wait() -> Any:
            try:
                return WebDriverWait(self.driver, WAIT, poll_frequency=0.1).until(
                    lambda d: d.execute_script(script, *args)
                )
            except TimeoutException:
                shot = self._shot("timeout")
                raise AssertionError(
                    f"the page did not show {what or script!r} within {WAIT} s; see {shot}"
                ) from None

        return await self._run(wait)

    async def card(self, task_id: str, deliveries: int) -> dict[str, Any]:
        """The card of `task_id`, once it shows `deliveries` delivery attempts."""
        found: dict[str, Any] = await self.until(
            CARD, task_id, deliveries, what=f"task {task_id} with {deliveries} deliveries"
        )
        return found

    async def click(self, css: str) -> None:
        def clicked(driver: WebDriver) -> bool:
            try:  # a live update may rebuild the element between finding and clicking it
                driver.find_element(By.CSS_SELECTOR, css).click()
            except StaleElementReferenceException:
                return False
            return True

        await self._run(lambda: WebDriverWait(self.driver, WAIT).until(clicked))

    async def choose(self, css: str, value: str) -> None:
        """Pick the option of the select `css` whose value is `value`."""
        await self._run(
            lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        )

    async def shown(self) -> list[str]:
        """The phases of the task cards shown, top to bottom."""
        phases: list[str] = await self.js(
            "return [...document.querySelectorAll('li.task')].map((e) => e.dataset.phase);"
        )
        return phases

    async def type(self, css: str, text: str) -> None:
        def typed() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            field.clear()
            field.send_keys(text)

        await self._run(typed)

    async def errors(self) -> list[str]:
        """What the page logged as errors (scripts failing, requests refused) so far."""
        logs = await self._run(lambda: self.driver.get_log("browser"))
        return [entry["message"] for entry in logs if entry["level"] == "SEVERE"]

    def _shot(self, label: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.name}-{label}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path

    async def shot(self, label: str) -> Path:
        return await self._run(lambda: self._shot(label))


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[WebDriver]:
    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # the system's browser: selenium downloads nothing
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        if SHOTS.exists():
            pytestconfig.stash[SCREENSHOTS] = SHOTS  # named in the run's summary


@pytest.fixture
def page(
    browser: WebDriver, anyint_gateway: FakeGateway, request: pytest.FixtureRequest
) -> Iterator[Page]:
    # Depends on the gateway so that the page stops polling before the gateway closes.
    yield Page(browser, request.node.name)
    browser.get("about:blank")


async def song(client: AnyIntMusic, prompt: str = "A bright summer pop song about travel") -> str:
    made = await client.generate(prompt=prompt, model=Model.V5)
    return made.task_id


async def test_a_song_shows_its_three_stages_answers_and_players(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, page: Page
) -> None:
    made = await anyint_client.generate(prompt=f"A song about trains {HOSTILE}", model=Model.V5)

    await page.open(anyint_gateway.url + "/")
    card = await page.card(made.task_id, 3)

    assert card["phase"] == "done"
    assert card["stages"] == ["text", "first", "complete"]
    assert card["statuses"] == ["200", "200", "200"]
    assert all("200" in answer for answer in card["answers"])
    assert card["audio"] == [track.audio_url for track in made.tracks]
    assert [src for src, _ in card["images"]] == [track.image_url for track in made.tracks]
    assert all(alt.startswith("Cover of ") for _, alt in card["images"])

    # Bodies are hostile input: shown as text, never run as markup.
    await page.click(f'li.task[data-id="{made.task_id}"] details[data-key="request"] summary')
    await page.click(f'li.task[data-id="{made.task_id}"] details[data-key="body-2"] summary')
    shown = await page.until(
        "const open = [...document.querySelectorAll('details[open]')];"
        "return open.length === 2 && open.map((d) => d.textContent);"
    )
    delivery, request = shown  # in page order: the deliveries, then the request
    assert request.startswith("Request body")
    assert HOSTILE.replace('"', '\\"') in request  # as JSON text
    assert "<img src=x" in delivery
    assert "POST http://127.0.0.1:" in delivery
    assert await page.js(
        "return [window.pwned, document.querySelectorAll('img[src=x]').length]"
    ) == [
        None,
        0,
    ]
    await page.shot("song")
    assert await page.errors() == []


async def test_fail_next_set_on_the_page_fails_the_next_sdk_task(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, page: Page
) -> None:
    fine = await song(anyint_client, "fine")
    await page.open(anyint_gateway.url + "/")

    await page.type("#fail-count", "1")
    await page.type("#fail-code", "533")
    await page.type("#fail-message", "The band broke up")
    await page.click("#fail-submit")
    await page.until(
        "return document.getElementById('fail-pending').textContent.includes('1 task will fail')"
    )

    with pytest.raises(TaskFailedError) as failed:
        await song(anyint_client, "doomed")
    assert (failed.value.code, failed.value.message) == (533, "The band broke up")
    card = await page.card(failed.value.task_id, 2)
    assert card["phase"] == "failed"
    assert card["stages"] == ["text", "error"]
    assert "533" in card["failure"]
    assert "✖" in card["failure"]
    await page.until("return document.getElementById('fail-pending').textContent.startsWith('No')")
    await page.shot("failed")

    await page.choose("#filter-status", "failed")
    await page.until("return document.querySelectorAll('li.task').length === 1")
    assert await page.shown() == ["failed"]
    await page.choose("#filter-status", "done")
    await page.until(f"return document.querySelector('li.task[data-id=\"{fine}\"]')")
    assert await page.shown() == ["done"]
    await page.choose("#filter-status", "all")
    await page.choose("#filter-route", "/suno/generate")
    await page.until("return document.querySelectorAll('li.task').length === 2")
    assert await page.errors() == []


async def test_the_knobs_form_sets_the_gateway_s_knobs(
    anyint_gateway: FakeGateway, page: Page
) -> None:
    await page.open(anyint_gateway.url + "/")

    await page.type("#duplicates", "1")
    await page.click('input[name="drop"][value="some"]')
    await page.click('input[name="drop-stage"][value="first"]')
    await page.click("#skip-stages")
    await page.type("#stage-delay", "0.2")
    await page.click("#chaos-on")
    await page.type("#chaos-seed", "7")
    await page.click("#knobs-submit")
    await page.until(
        "return document.getElementById('control-message').textContent.startsWith('Knobs applied')"
    )

    gw = anyint_gateway
    assert (gw.duplicates, set(gw.drop_callbacks), gw.skip_stages) == (1, {"first"}, True)
    assert gw.stage_delay == 0.2
    assert gw.chaos is not None
    assert gw.chaos.seed == 7

    await page.type("#duplicates", "-1")
    await page.click("#knobs-submit")
    await page.until("return document.getElementById('control-message').className.includes('bad')")
    assert gw.duplicates == 1
    assert await page.errors() == []


async def test_redeliver_on_the_page_sends_a_duplicate_answered_200(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, page: Page
) -> None:
    task_id = await song(anyint_client)
    await page.open(anyint_gateway.url + "/")
    await page.card(task_id, 3)

    await page.click(f'li.task[data-id="{task_id}"] .delivery[data-stage="complete"] .redeliver')

    card = await page.card(task_id, 4)
    assert card["statuses"] == ["200"] * 4
    assert card["kinds"][-1] == "sent by hand"
    await page.until(
        "return document.getElementById('control-message').textContent.includes('answered 200')"
    )
    again = anyint_gateway.callbacks[-1]
    assert (again.task_id, again.stage, again.copy, again.status) == (task_id, "complete", 1, 200)
    await page.shot("redelivered")
    assert await page.errors() == []


async def test_a_narrow_window_shows_the_tasks_and_the_keyboard_reaches_every_control(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, page: Page
) -> None:
    task_id = await song(anyint_client)
    await page.open(anyint_gateway.url + "/", width=400, height=800)
    await page.card(task_id, 3)

    widths = await page.js(
        "const r = document.querySelector('li.task').getBoundingClientRect();"
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " r.left, r.right];"
    )
    scroll_width, client_width, left, right = widths
    assert scroll_width <= client_width <= 400, widths
    assert 0 <= left < right <= client_width, widths

    def tab_to_redeliver() -> list[dict[str, Any]]:
        driver = page.driver
        driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
        seen = []
        for _ in range(120):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            focused = driver.execute_script(
                "const e = document.activeElement, s = getComputedStyle(e);"
                "return {id: e.id, cls: e.className, tag: e.tagName,"
                " outline: s.outlineStyle !== 'none' && s.outlineWidth !== '0px'};"
            )
            seen.append(focused)
            if "redeliver" in focused["cls"]:
                break
        return seen

    seen = await asyncio.to_thread(tab_to_redeliver)
    ids = {focused["id"] for focused in seen}
    for control in ("pause", "fail-count", "fail-code", "fail-submit", "duplicates"):
        assert control in ids, (control, seen)
    for control in ("stage-delay", "chaos-on", "knobs-submit", "filter-route", "filter-status"):
        assert control in ids, (control, seen)
    assert "redeliver" in seen[-1]["cls"], seen
    assert all(focused["outline"] for focused in seen), [f for f in seen if not f["outline"]]
    await page.shot("narrow")

    await asyncio.to_thread(lambda: ActionChains(page.driver).send_keys(Keys.ENTER).perform())

    card = await page.card(task_id, 4)
    assert card["kinds"][-1] == "sent by hand"


async def test_the_docs_screenshot_shows_songs_a_failure_and_redeliveries(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, page: Page
) -> None:
    anyint_gateway.stage_delay = 0.15
    first = await song(anyint_client, "A bright summer pop song about travel")
    anyint_gateway.fail_tasks(code=531, message="Audio generation failed")
    with pytest.raises(TaskFailedError) as failed:
        await song(anyint_client, "a song that will not be")
    async with aiohttp.ClientSession() as http, Receiver() as receiver:
        receiver.answers = [500]  # the first delivery fails; the simulator sends it again
        body = {
            "customMode": True,
            "instrumental": False,
            "model": "V5",
            "title": "Night Train",
            "style": "slow jazz ballad",
            "prompt": "[Verse]\nThe last train home",
        }
        latest = await submit(http, anyint_gateway, receiver, "/suno/generate", body)
        await anyint_gateway.wait_idle()
        await page.open(anyint_gateway.url + "/")
        await page.card(latest, 4)

        await page.click(f'li.task[data-id="{latest}"] .delivery[data-stage="complete"] .redeliver')

        card = await page.card(latest, 5)
        await page.card(failed.value.task_id, 2)
        await page.card(first, 3)
    assert card["statuses"] == ["500", "200", "200", "200", "200"]
    assert card["kinds"] == ["", "redelivery 1", "", "", "sent by hand"]
    await page.until("return [...document.images].every((i) => i.complete && i.naturalWidth)")
    path = await page.shot("docs")
    if os.environ.get("ANYINT_DOCS_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(path, ROOT / "docs" / "inspector.png")
