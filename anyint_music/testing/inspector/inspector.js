// The inspector page of anyint-music's simulator: polls its JSON API under /_sim/ and shows the
// tasks, their stages and their callback deliveries; its forms set the simulator's knobs.
// Everything shown comes from request and callback bodies, which are hostile input: text goes
// into the page only as text nodes (never parsed as markup), URLs only when they are http(s).
"use strict";

(() => {
  const POLL_MS = 1000;
  const SHOWN = 50; // the newest tasks on the page; the API keeps more
  const STAGES = ["text", "first", "complete", "error", "lyrics", "cover", "vocal", "wav", "mp4", "persona"];
  const PHASE_LABELS = { running: "⏳ Running", done: "✔ Done", failed: "✖ Failed" };

  const $ = (id) => document.getElementById(id);
  const cards = new Map(); // task id -> {revision, node}
  let paused = false;
  let timer = null;
  let knobsDirty = false;

  // -- building DOM nodes safely ------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name === "on") for (const [kind, fn] of Object.entries(value)) node.addEventListener(kind, fn);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function webUrl(url) {
    try {
      const parsed = new URL(String(url), location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  function clock(seconds) {
    if (typeof seconds !== "number") return "";
    const date = new Date(seconds * 1000);
    const pad = (n, w) => String(n).padStart(w, "0");
    return `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}.${pad(date.getMilliseconds(), 3)}`;
  }

  function after(seconds, start) {
    return `+${Math.max(0, seconds - start).toFixed(2)} s`;
  }

  function count(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  function say(text, bad) {
    const message = $("control-message");
    message.textContent = text;
    message.classList.toggle("bad", Boolean(bad));
  }

  // -- talking to the API ---------------------------------------------------------------------

  async function api(path, body) {
    const options = body === undefined
      ? { cache: "no-store" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const reason = data && typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
      throw new Error(reason);
    }
    return data;
  }

  // -- one task card --------------------------------------------------------------------------

  function badge(phase) {
    return el("span", { class: `badge ${phase}`, text: PHASE_LABELS[phase] || phase });
  }

  function answerLabel(delivery) {
    if (delivery.status === 200) return "✔ 200";
    if (delivery.status === null) return "✖ no answer";
    return `✖ ${delivery.status}`;
  }

  function timeline(task) {
    const list = el("ol", { class: "timeline", "aria-label": "Stages" });
    for (const mark of task.stages) {
      list.append(el("li", { class: mark.sent ? "stage" : "stage skipped", "data-stage": mark.stage },
        el("span", { class: "stage-name", text: mark.stage }),
        el("span", { class: "when", text: after(mark.time, task.created) }),
        mark.sent ? null : el("span", { class: "note", text: `⊘ ${mark.note}` })));
    }
    if (!task.stages.length) list.append(el("li", { class: "stage none", text: "no stage yet" }));
    return list;
  }

  function deliveryItem(task, delivery, index) {
    const ok = delivery.status === 200;
    const kind = delivery.manual ? "sent by hand"
      : delivery.attempt > 1 ? `redelivery ${delivery.attempt - 1}`
      : delivery.copy ? `copy ${delivery.copy}` : "";
    const button = el("button", {
      type: "button",
      class: "redeliver secondary",
      "data-key": `redeliver-${index}`,
      "aria-label": `Redeliver the ${delivery.stage} callback of task ${task.id} now`,
      on: { click: () => redeliver(task.id, delivery.stage, button) },
    }, "↻ Redeliver");
    const problem = delivery.error ? `not delivered: ${delivery.error}` : `answered ${delivery.status}, not 200`;
    // Each delivery goes to the task's callBackUrl unless receivers are balanced: say where.
    const elsewhere = delivery.url !== task.callback_url;
    return el("li", { class: ok ? "delivery ok" : "delivery bad", "data-status": delivery.status === null ? "none" : delivery.status, "data-stage": delivery.stage },
      el("span", { class: ok ? "answer ok" : "answer bad", text: answerLabel(delivery) }),
      el("span", { class: "stage-name", text: delivery.stage }),
      kind ? el("span", { class: "kind", text: kind }) : null,
      el("time", { text: clock(delivery.time) }),
      el("span", { class: "latency", text: `${delivery.latency_ms.toFixed(1)} ms` }),
      ok ? null : el("span", { class: "problem-text", text: `⚠ ${problem}` }),
      elsewhere ? el("code", { class: "url", text: `→ ${delivery.url}` }) : null,
      el("details", { "data-key": `body-${index}` }, el("summary", { text: "Body" }),
        el("p", { class: "sent-to" }, "POST ", el("code", { text: delivery.url })),
        el("pre", { text: pretty(delivery.body) })),
      button);
  }

  function media(task) {
    const items = task.media || [];
    const box = el("div", { class: "media", "data-signature": JSON.stringify(items) });
    for (const item of items) {
      const src = webUrl(item.url);
      if (!src) continue;
      if (item.kind === "image") {
        box.append(el("figure", { class: "picture" }, el("img", { src, alt: item.label, loading: "lazy", width: 72, height: 72 })));
      } else if (item.kind === "audio") {
        box.append(el("figure", { class: "player" }, el("figcaption", { text: item.label }), el("audio", { controls: true, preload: "none", src })));
      } else if (item.kind === "video") {
        box.append(el("figure", { class: "player" }, el("figcaption", { text: item.label }), el("video", { controls: true, preload: "none", src, width: 320 })));
      }
    }
    return box;
  }

  function card(task) {
    const counts = task.delivery_counts;
    const failedAttempts = counts.failed;
    const classes = ["task", task.phase, failedAttempts ? "delivery-problem" : ""].join(" ");
    const deliveries = el("ol", { class: "deliveries", "aria-label": "Callback deliveries" },
      task.deliveries.map((delivery, index) => deliveryItem(task, delivery, index)));
    const heading = el("h3", {},
      el("span", { class: "route", text: task.route }), " ",
      el("code", { class: "task-id", text: task.id }));
    const noDeliveries = task.callback_url ? "No delivery yet." : "No callBackUrl: no callbacks.";
    return el("li", { class: classes, "data-id": task.id, "data-phase": task.phase },
      el("article", { "aria-label": `${task.route} task ${task.id}` },
        el("header", { class: "task-head" }, badge(task.phase), heading,
          el("span", { class: "meta", text: `${task.kind} · ${task.status} · created ${clock(task.created)}` })),
        task.error ? el("p", { class: "problem failure", text: `✖ Task failed with code ${task.error.code}: ${task.error.message || ""}` }) : null,
        failedAttempts ? el("p", { class: "problem", text: `⚠ ${count(failedAttempts, "delivery attempt")} not answered 200` }) : null,
        el("div", { class: "facts" }, el("h4", { text: "Stages" }), timeline(task)),
        task.callback_url ? el("p", { class: "target" }, "Callbacks to ", el("code", { text: task.callback_url })) : null,
        el("h4", { text: `Deliveries (${counts.attempts})` }),
        task.deliveries.length ? deliveries : el("p", { class: "none", text: noDeliveries }),
        task.deliveries_not_kept ? el("p", { class: "none", text: `${count(task.deliveries_not_kept, "older attempt")} not kept.` }) : null,
        el("div", { class: "more" },
          el("details", { "data-key": "request" }, el("summary", { text: "Request body" }), el("pre", { text: pretty(task.request) })),
          task.result ? el("details", { "data-key": "result" }, el("summary", { text: "Result" }), el("pre", { text: pretty(task.result) })) : null),
        el("div", { class: "media-slot" })));
  }

  // A rebuilt card keeps what the user did with the old one: open details, focus, and any player
  // (so a song keeps playing while its card gets a new delivery).
  function replaceCard(old, fresh, task) {
    const slot = fresh.querySelector(".media-slot");
    const oldMedia = old ? old.querySelector(".media") : null;
    const signature = JSON.stringify(task.media || []);
    slot.replaceWith(oldMedia && oldMedia.dataset.signature === signature ? oldMedia : media(task));
    if (!old) return;
    for (const details of old.querySelectorAll("details[open][data-key]")) {
      const twin = fresh.querySelector(`details[data-key="${details.dataset.key}"]`);
      if (twin) twin.open = true;
    }
    const focused = document.activeElement;
    const key = old.contains(focused) && focused.closest("[data-key]");
    old.replaceWith(fresh);
    if (key) {
      const twin = fresh.querySelector(`[data-key="${key.dataset.key}"]`);
      const target = twin && (twin.tagName === "DETAILS" ? twin.querySelector("summary") : twin);
      if (target) target.focus();
    }
  }

  // -- the list -------------------------------------------------------------------------------

  async function refreshTasks() {
    const params = new URLSearchParams({ limit: String(SHOWN) });
    const route = $("filter-route").value;
    const status = $("filter-status").value;
    if (route) params.set("route", route);
    if (status !== "all") params.set("status", status);
    const listing = await api(`/_sim/tasks?${params}`);
    updateRoutes(listing.routes);
    const stale = listing.tasks.filter((t) => !cards.has(t.id) || cards.get(t.id).revision !== t.revision);
    const details = await Promise.all(stale.map((t) => api(`/_sim/tasks/${encodeURIComponent(t.id)}`).catch(() => null)));
    for (const task of details) {
      if (!task) continue;
      const known = cards.get(task.id);
      const fresh = card(task);
      replaceCard(known ? known.node : null, fresh, task);
      cards.set(task.id, { revision: task.revision, node: fresh });
    }
    const list = $("tasks");
    const wanted = new Set(listing.tasks.map((t) => t.id));
    for (const [id, entry] of cards) {
      if (!wanted.has(id)) {
        entry.node.remove();
        cards.delete(id);
      }
    }
    listing.tasks.forEach((t, index) => {
      const entry = cards.get(t.id);
      if (!entry) return;
      // Move only what is out of place: moving a node would drop the focus inside it.
      if (list.children[index] !== entry.node) list.insertBefore(entry.node, list.children[index] || null);
    });
    const shown = listing.tasks.length;
    $("count").textContent = listing.total > shown ? `Showing the newest ${shown} of ${listing.total} tasks.` : `${count(listing.total, "task")}.`;
    $("empty").hidden = listing.total > 0 || Boolean(route) || status !== "all";
  }

  function updateRoutes(routes) {
    const select = $("filter-route");
    const present = new Set(Array.from(select.options, (o) => o.value));
    for (const route of routes) {
      if (!present.has(route)) select.append(el("option", { value: route, text: route }));
    }
  }

  // -- knobs ----------------------------------------------------------------------------------

  function showKnobs(knobs) {
    const pending = knobs.fail_next;
    $("fail-pending").textContent = pending.count
      ? `${count(pending.count, "task")} will fail (code ${pending.rules.map((r) => r.code).join(", ")}).`
      : "No task is set to fail.";
    $("fail-pending").classList.toggle("armed", pending.count > 0);
    if (knobsDirty || $("knobs-form").contains(document.activeElement)) return;
    $("duplicates").value = knobs.duplicates;
    const drop = knobs.drop_callbacks;
    const mode = drop === true ? "all" : Array.isArray(drop) && drop.length ? "some" : "none";
    for (const radio of document.querySelectorAll('input[name="drop"]')) radio.checked = radio.value === mode;
    for (const box of document.querySelectorAll('input[name="drop-stage"]')) box.checked = Array.isArray(drop) && drop.includes(box.value);
    $("skip-stages").checked = knobs.skip_stages;
    $("stage-delay").value = knobs.stage_delay;
    $("chaos-on").checked = knobs.chaos_seed !== null;
    if (knobs.chaos_seed !== null) $("chaos-seed").value = knobs.chaos_seed;
  }

  function wholeNumber(id, what) {
    const input = $(id);
    const value = Number(input.value);
    if (input.value === "" || !Number.isInteger(value) || !input.checkValidity()) {
      input.focus();
      throw new Error(`${what}: enter a whole number from ${input.min} to ${input.max || "up"}.`);
    }
    return value;
  }

  function knobChanges() {
    const mode = document.querySelector('input[name="drop"]:checked').value;
    const chosen = Array.from(document.querySelectorAll('input[name="drop-stage"]:checked'), (b) => b.value);
    const delay = Number($("stage-delay").value);
    if ($("stage-delay").value === "" || !(delay >= 0)) {
      $("stage-delay").focus();
      throw new Error("Stage delay: enter a number of seconds, 0 or more.");
    }
    return {
      duplicates: wholeNumber("duplicates", "Extra copies"),
      drop_callbacks: mode === "all" ? true : mode === "some" ? chosen : false,
      skip_stages: $("skip-stages").checked,
      stage_delay: delay,
      chaos_seed: $("chaos-on").checked ? wholeNumber("chaos-seed", "Chaos seed") : null,
    };
  }

  async function setKnobs(changes, done) {
    try {
      const knobs = await api("/_sim/knobs", changes);
      knobsDirty = false;
      showKnobs(knobs);
      say(done);
    } catch (error) {
      say(`Not applied: ${error.message}`, true);
    }
  }

  async function redeliver(taskId, stage, button) {
    button.disabled = true;
    try {
      const answer = await api(`/_sim/tasks/${encodeURIComponent(taskId)}/redeliver`, { stage });
      const status = answer.status === null ? `no answer (${answer.delivery.error})` : answer.status;
      say(`Sent the ${stage} callback of task ${taskId} again: the receiver answered ${status}.`, answer.status !== 200);
    } catch (error) {
      say(`Not redelivered: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
    await tick();
  }

  // -- the loop -------------------------------------------------------------------------------

  async function tick() {
    clearTimeout(timer);
    try {
      await refreshTasks();
      showKnobs(await api("/_sim/knobs"));
      $("live").textContent = `${paused ? "Paused" : "Live"} · updated ${clock(Date.now() / 1000)}`;
      $("live").classList.remove("bad");
    } catch (error) {
      $("live").textContent = `⚠ Cannot reach the simulator (${error.message}); retrying…`;
      $("live").classList.add("bad");
    }
    if (!paused) timer = setTimeout(tick, POLL_MS);
  }

  function setUp() {
    const stages = $("drop-stages");
    for (const stage of STAGES) {
      stages.append(el("label", {}, el("input", { type: "checkbox", name: "drop-stage", value: stage }), ` ${stage}`));
    }
    $("empty-url").textContent = location.origin;
    $("knobs-form").addEventListener("input", () => { knobsDirty = true; });
    $("knobs-form").addEventListener("submit", (event) => {
      event.preventDefault();
      try {
        setKnobs(knobChanges(), "Knobs applied; they apply to the stages scheduled from now on.");
      } catch (error) {
        say(error.message, true);
      }
    });
    $("fail-form").addEventListener("submit", (event) => {
      event.preventDefault();
      try {
        const tasks = wholeNumber("fail-count", "How many");
        const code = wholeNumber("fail-code", "Error code");
        const message = $("fail-message").value.trim() || null;
        const which = tasks === 1 ? "task" : `${tasks} tasks`;
        setKnobs({ fail_next: { count: tasks, code, message } }, `The next ${which} will fail with code ${code}.`);
      } catch (error) {
        say(error.message, true);
      }
    });
    $("fail-cancel").addEventListener("click", () => setKnobs({ fail_next: null }, "No task is set to fail any more."));
    for (const id of ["filter-route", "filter-status"]) $(id).addEventListener("change", tick);
    $("pause").addEventListener("click", () => {
      paused = !paused;
      $("pause").setAttribute("aria-pressed", String(paused));
      $("pause").textContent = paused ? "Resume updates" : "Pause updates";
      tick();
    });
    tick();
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
