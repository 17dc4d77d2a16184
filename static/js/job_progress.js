/* Live progress on the admin pages of a training/embedding job and of a catalogue import, with
   the job's last heartbeat (worker, age, phase) and a warning while it is silent.

   The page's #live-progress element names the job's JSON progress endpoint. Until the job has
   finished, this script fetches the job's real state every POLL_MS and writes each value in
   place: into the elements that name its key (data-progress-field="key") and into the admin's
   read-only field of the same name. No full-page reload: once the job has finished it stops and
   offers a link to the final report (the per-row errors, metrics) instead.

   For screen readers: #live-progress-summary (aria-live=polite) gets one sentence when the
   state or the phase changes, not the counts that change with every poll; the heartbeat
   warning is role=alert and the finished note role=status. Focus never moves. */
(function () {
  "use strict";

  // Jobs report every few batches or rows; polling faster would only cost queries.
  var POLL_MS = 2000;
  // After a failed request (server restarting, session expired) wait longer before retrying.
  var RETRY_MS = 10000;

  var panel = document.getElementById("live-progress");
  if (!panel || panel.dataset.finished === "true") {
    return;
  }

  function format(value, kind) {
    if (value === null || value === undefined || value === "") {
      return "–";
    }
    if (kind === "fixed3" && typeof value === "number") {
      return value.toFixed(3);
    }
    if (kind === "duration" && typeof value === "number") {
      return value + " s";
    }
    return String(value);
  }

  // Only a changed text is written: rewriting the same words into the role=alert warning
  // every poll could have it read out again each time.
  function setText(element, text) {
    if (element.textContent !== text) {
      element.textContent = text;
    }
  }

  function announce(data) {
    var summary = document.getElementById("live-progress-summary");
    var phase = data.phase || "";
    if (!summary || (data.state === panel.dataset.state && phase === panel.dataset.phase)) {
      return;
    }
    var noun = panel.dataset.noun || "job";
    var sentence = noun.charAt(0).toUpperCase() + noun.slice(1) + " " + data.state;
    summary.textContent = sentence + (phase ? ": " + phase + "." : ".");
    panel.dataset.phase = phase;
  }

  function render(data) {
    announce(data); // before panel.dataset.state takes the new state below
    panel.querySelectorAll("[data-progress-field]").forEach(function (element) {
      var key = element.dataset.progressField;
      setText(element, format(data[key], element.dataset.progressFormat));
    });
    // The stale-heartbeat warning shows only while the server says the job is silent.
    var warning = document.getElementById("heartbeat-warning");
    if (warning) {
      warning.hidden = !data.heartbeat_warning;
    }
    Object.keys(data).forEach(function (key) {
      var value = data[key];
      if (typeof value === "boolean" || (typeof value === "object" && value !== null)) {
        return; // the admin shows booleans as icons: leave those to the final report
      }
      document.querySelectorAll(".field-" + key + " .readonly").forEach(function (element) {
        setText(element, format(value));
      });
    });
    panel.dataset.state = data.state;
    if (data.finished) {
      panel.dataset.finished = "true";
      panel.querySelectorAll("[data-progress-hide-when-finished]").forEach(function (element) {
        element.hidden = true;
      });
      panel.querySelectorAll("[data-progress-show-when-finished]").forEach(function (element) {
        element.hidden = false;
      });
    }
  }

  function poll() {
    fetch(panel.dataset.progressUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress request failed: " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        render(data);
        if (!data.finished) {
          window.setTimeout(poll, POLL_MS);
        }
      })
      .catch(function () {
        window.setTimeout(poll, RETRY_MS);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
