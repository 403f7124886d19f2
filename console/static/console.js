// OSA console: small progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // Show the custom period fields only when "Custom…" is chosen.
  var since = document.getElementById("since");
  if (since) {
    var custom = document.querySelector(".custom-period");
    since.addEventListener("change", function () {
      if (custom) custom.classList.toggle("when-custom", since.value !== "custom");
    });
  }

  var table = document.getElementById("requests");
  if (!table) return;

  // The PURL column toggles at once (the form keeps it for the next load).
  var purl = document.getElementById("purl-toggle");
  if (purl) {
    purl.addEventListener("change", function () {
      table.classList.toggle("show-purl", purl.checked);
    });
  }

  var api = table.getAttribute("data-api");
  function withParam(url, k, v) {
    return url + (url.indexOf("?") < 0 ? "?" : "&") + k + "=" + encodeURIComponent(v);
  }

  // "Count matches" asks the JSON endpoint instead of reloading the page.
  var countLink = document.getElementById("count-link");
  if (countLink && api) {
    countLink.addEventListener("click", function (ev) {
      ev.preventDefault();
      countLink.textContent = "Counting…";
      fetch(withParam(withParam(api, "total", "1"), "limit", "1"), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          var total = document.getElementById("total");
          if (d.error) { total.textContent = d.error; return; }
          total.textContent = d.total + " matching request" + (d.total === 1 ? "" : "s");
        })
        .catch(function () { countLink.textContent = "Count failed"; });
    });
  }

  // Live update: poll for records newer than the newest shown and prepend them.
  var poll = parseInt(table.getAttribute("data-poll"), 10) || 0;
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!api || poll <= 0 || !live) return;
  var newest = parseInt(table.getAttribute("data-newest"), 10) || 0;
  var tbody = table.tBodies[0];
  var busy = false;

  function say(text) { if (status) status.textContent = text; }

  function tick() {
    if (busy || !live.checked || document.hidden) return;
    busy = true;
    fetch(withParam(api, "since_id", newest), { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (d) {
        if (d.rows_html) {
          tbody.insertAdjacentHTML("afterbegin", d.rows_html);
          var n = d.requests ? d.requests.length : 0;
          for (var i = 0; i < n && i < tbody.rows.length; i++) tbody.rows[i].classList.add("fresh");
          var empty = document.getElementById("empty");
          if (empty) empty.remove();
          say(n + " new at " + new Date().toLocaleTimeString() + (d.gap ? " — more arrived than one page: reload to see all" : ""));
        }
        if (d.newest_id > newest) newest = d.newest_id;
      })
      .catch(function (e) { say("Live update failed (" + e.message + "); retrying"); })
      .then(function () { busy = false; });
  }
  window.setInterval(tick, poll);
  live.addEventListener("change", function () { say(live.checked ? "" : "Paused"); if (live.checked) tick(); });
})();
