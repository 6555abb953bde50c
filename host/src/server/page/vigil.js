// Vigil's status page, live: each event on /health/events (a check moved,
// a plugin loaded or was rejected, a watchdog rule ran, readiness flipped)
// fetches the page again and swaps its <main> in place. Run times also
// refresh every 15 s. Without this script the page reloads itself.
"use strict";
(() => {
  const EVENTS = ["check", "plugin", "rejection", "watchdog", "readiness", "hello"];
  let busy = false;
  let again = false;

  function say(state, text) {
    const live = document.getElementById("live");
    if (live) {
      live.dataset.state = state;
      live.textContent = text;
    }
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const answer = await fetch("/", { cache: "no-store" });
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("status");
      const current = document.getElementById("status");
      if (fresh && current) {
        current.replaceWith(fresh);
        document.title = page.title;
      }
      say("live", "Live, updated " + new Date().toLocaleTimeString());
    } catch (error) {
      say("offline", "Offline: " + error);
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  const source = new EventSource("/health/events");
  for (const name of EVENTS) {
    source.addEventListener(name, refresh);
  }
  source.onerror = () => say("offline", "Reconnecting to /health/events…");
  setInterval(refresh, 15000);
})();
