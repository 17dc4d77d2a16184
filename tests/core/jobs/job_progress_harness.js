// Runs static/js/job_progress.js against a stand-in for the job page's DOM, feeding it the
// progress answers given as JSON in argv[3], and prints what a screen reader would have been
// told after each poll: the live summary's text and how often each element was written.
// Used by tests/core/jobs/test_live_page_accessibility.py (node, no browser, no npm package).
"use strict";

const fs = require("fs");

function element(name, fields) {
  let text = fields.text || "";
  const el = {
    name,
    hidden: Boolean(fields.hidden),
    dataset: fields.dataset || {},
    writes: 0,
    get textContent() {
      return text;
    },
    set textContent(value) {
      text = value;
      el.writes += 1;
    },
    focus() {
      throw new Error("the script moved focus to " + name);
    },
  };
  return el;
}

const panel = element("panel", {
  dataset: { progressUrl: "/progress/", finished: "false", state: "running", phase: "training", noun: "job" },
});
const summary = element("summary", {});
const warning = element("warning", { hidden: true, dataset: { progressField: "heartbeat_warning" } });
const fields = [
  element("state", { text: "running", dataset: { progressField: "state" } }),
  element("epoch", { text: "2", dataset: { progressField: "epoch" } }),
  warning,
];
const finishedNote = element("finished", { hidden: true });
const byId = { "live-progress": panel, "live-progress-summary": summary, "heartbeat-warning": warning };
const inPanel = {
  "[data-progress-field]": fields,
  "[data-progress-hide-when-finished]": [],
  "[data-progress-show-when-finished]": [finishedNote],
};
panel.querySelectorAll = (selector) => inPanel[selector] || [];

const answers = JSON.parse(process.argv[3]);
const timers = [];
global.document = { getElementById: (id) => byId[id] || null, querySelectorAll: () => [] };
global.window = { setTimeout: (callback) => timers.push(callback) };
global.fetch = () => Promise.resolve({ ok: true, json: () => Promise.resolve(answers.shift()) });

new Function(fs.readFileSync(process.argv[2], "utf8"))();

const told = [];
(async function () {
  while (timers.length) {
    timers.shift()();
    await new Promise((resolve) => setImmediate(resolve));
    told.push({
      summary: summary.textContent,
      summary_writes: summary.writes,
      warning_writes: warning.writes,
      warning_hidden: warning.hidden,
      finished_hidden: finishedNote.hidden,
    });
    if (!answers.length) {
      break;
    }
  }
  process.stdout.write(JSON.stringify(told));
})();
