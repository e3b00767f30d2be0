// heal8s dashboard: live updates without a full reload. The server sends a "change" event over
// server-sent events whenever what the pages show changes; the page then fetches its own live
// region again (the same URL with the fragment header) and swaps it in. The HTML comes from the
// server's templates, which escape everything, so it is safe to insert.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!live) { return; }
  var inflight = false, again = false;

  function setStatus(text, on) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("on", on);
  }

  function refresh() {
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(location.pathname + location.search, {
      headers: { "X-Dashboard-Fragment": "1" },
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (resp) {
      // The token expired or was revoked: reloading shows the login page.
      if (resp.status === 401) { location.reload(); throw new Error("signed out"); }
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.text();
    }).then(function (html) {
      live.innerHTML = html;
      document.documentElement.dataset.refreshed = String(Date.now());
    }).catch(function () {
      setStatus("stale", false);
    }).finally(function () {
      inflight = false;
      if (again) { again = false; refresh(); }
    });
  }

  // Ages move even when nothing changes.
  setInterval(refresh, 30000);

  if (!window.EventSource) { setStatus("polling", false); setInterval(refresh, 5000); return; }
  var es = new EventSource("/live");
  var connected = false;
  es.addEventListener("hello", function () {
    setStatus("live", true);
    if (connected) { refresh(); } // changes may have been missed while reconnecting
    connected = true;
  });
  es.addEventListener("change", function () { setStatus("live", true); refresh(); });
  es.onerror = function () { setStatus("reconnecting", false); };
})();
