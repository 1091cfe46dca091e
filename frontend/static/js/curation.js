// Curation by keyboard: levels are rows, one key per field cycles its value.
// j/k or ↓/↑ level · d disc · c canal · l/r foramen · L/R (Shift) subarticular · u uncertain
// (Shift+d / Shift+c cycle backwards) · a accept all and save · Enter save and next ·
// s skip · z undo last save. The item is an htmx partial; save-and-next swaps in the next one.
import { isTyping } from "./keys.js";

const FIELD_KEYS = {
  d: "disc", D: "disc", c: "canal_stenosis", C: "canal_stenosis",
  l: "left_foraminal", r: "right_foraminal",
  L: "left_subarticular", R: "right_subarticular",
  u: "uncertain", U: "uncertain",
};
// Each field's values in the guide's order, the absent one first (spine.labels, sent by the
// page with json_script): the vocabulary is not copied here.
const FIELD_VALUES = JSON.parse(document.getElementById("field-values")?.textContent ?? "{}");

let current = 0;
let shownAt = performance.now();

const root = () => document.querySelector("[data-curation]");
const rows = () => [...(root()?.querySelectorAll("[data-curation-table] tbody tr") ?? [])];

function select(index) {
  const all = rows();
  if (!all.length) return;
  current = Math.max(0, Math.min(index, all.length - 1));
  all.forEach((row, i) => {
    row.classList.toggle("current", i === current);
    if (i === current) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  });
  all[current].scrollIntoView({ block: "nearest" });
}

function setCell(cell, value) {
  cell.querySelector("input").value = value;
  cell.querySelector("[data-value]").textContent = value;
  cell.classList.toggle("changed", value !== cell.dataset.proposal);
  cell.classList.toggle("abnormal", value !== FIELD_VALUES[cell.dataset.field]?.[0]);
}

function cycle(field, step) {
  const cell = rows()[current]?.querySelector(`td[data-field="${field}"]`);
  if (!cell) return;
  const values = FIELD_VALUES[field];
  if (!values) return;
  const at = values.indexOf(cell.querySelector("input").value);
  setCell(cell, values[(at + step + values.length) % values.length]);
}

function acceptAll() {
  root()?.querySelectorAll("td[data-field]").forEach((cell) => setCell(cell, cell.dataset.proposal));
}

let busy = false;

// Keys call htmx directly, so they work even before htmx has processed freshly swapped content.
function request(element, verb, url) {
  if (!element || busy) return;
  window.htmx.ajax(verb, url, { source: element, target: "#curation", swap: "outerHTML" });
}

function stampSeconds(form) {
  const seconds = form?.querySelector("[data-seconds]");
  if (seconds) seconds.value = ((performance.now() - shownAt) / 1000).toFixed(1);
}

function save() {
  const form = root()?.querySelector("[data-curation-form]");
  stampSeconds(form);
  request(form, "POST", form?.getAttribute("hx-post"));
}

function press(selector) {
  const button = root()?.querySelector(selector);
  if (!button) return;
  if (button.hasAttribute("hx-post")) request(button, "POST", button.getAttribute("hx-post"));
  else request(button, "GET", button.getAttribute("hx-get"));
}

// A click on "Save and next": the seconds spent go with it (capture: before htmx reads the form).
document.addEventListener("submit", (event) => stampSeconds(event.target), true);
document.body.addEventListener("htmx:beforeRequest", () => { busy = true; });
document.body.addEventListener("htmx:afterRequest", () => { busy = false; });

document.addEventListener("keydown", (event) => {
  if (!root() || event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) return;
  if (document.querySelector("dialog[open]")) return;
  const key = event.key;
  if (key === "Enter") {
    if (event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement) return;
    event.preventDefault();
    save();
  } else if (key === "j" || key === "ArrowDown") {
    event.preventDefault();
    select(current + 1);
  } else if (key === "k" || key === "ArrowUp") {
    event.preventDefault();
    select(current - 1);
  } else if (key in FIELD_KEYS) {
    event.preventDefault();
    const backwards = event.shiftKey && (key === "D" || key === "C" || key === "U");
    cycle(FIELD_KEYS[key], backwards ? -1 : 1);
  } else if (key === "a") {
    event.preventDefault();
    acceptAll();
    save();
  } else if (key === "s") {
    event.preventDefault();
    press("[data-skip]");
  } else if (key === "z") {
    event.preventDefault();
    press("[data-undo]");
  }
});

// A conflict (409) or a refused save (400) still shows what the server answered.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status === 409 || status === 400) {
    event.detail.shouldSwap = status === 409;
    event.detail.isError = false;
    if (status === 400) window.alert(`Not saved: ${event.detail.xhr.responseText}`);
  }
});

document.body.addEventListener("htmx:afterSwap", () => {
  current = 0;
  shownAt = performance.now();
  select(0);
});

// Keys pressed before this module ran were lost; tests (and anything else) can wait for this.
document.documentElement.dataset.curationKeys = "ready";
