// AI report review: keyboard, sign dialog, unsaved-edit guard, and the image layers
// (disc centre markers, segmentation overlay, "best seen on image N" jumps).
// Keys (this page only, listed on the page): e edit, Ctrl+Enter save, S sign, a amend,
// o overlay, m markers, v switch viewer; Esc closes the dialog.
import { isTyping } from "./keys.js";

const SVG = "http://www.w3.org/2000/svg";
const review = document.querySelector("[data-review]");
const form = document.querySelector("[data-report-form]");
const dialog = document.querySelector("[data-sign-dialog]");
const status = document.querySelector("[data-review-status]");
const sagittal = document.querySelector('[data-viewer][data-plane="sagittal"]');
const markersData = JSON.parse(document.getElementById("disc-markers")?.textContent || "[]");

let dirty = false;
let submitting = false;
let overlayOn = false;
let markersOn = true;

function say(text) {
  if (status) status.textContent = text;
}

// --- editing --------------------------------------------------------------------------

function editable() {
  return form ? [...form.querySelectorAll("textarea")] : [];
}

function focusFirstEdit() {
  const reason = form?.querySelector("[data-reason]");
  const first = reason && !reason.value.trim() ? reason : form?.querySelector("[data-finding]");
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
    return true;
  }
  return false;
}

function save() {
  if (!editable().length) return;
  submitting = true;
  form.requestSubmit();
}

// Each editor shows all of its text: the sentence is read whole before signing.
function fit(area) {
  area.style.height = "auto";
  area.style.height = `${area.scrollHeight + 2}px`;
}

if (form) {
  editable().forEach(fit);
  // After a refused save the editor holds text that is not stored anywhere yet.
  if (editable().length && document.querySelector("[data-conflict], [data-error]")) dirty = true;
  form.addEventListener("input", (event) => {
    dirty = true;
    review.dataset.dirty = "true";
    if (event.target instanceof HTMLTextAreaElement) fit(event.target);
  });
  form.addEventListener("submit", () => { submitting = true; });
}

window.addEventListener("beforeunload", (event) => {
  if (dirty && !submitting) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// --- signing --------------------------------------------------------------------------

function openSign() {
  if (!dialog) {
    say(review?.dataset.status === "preliminary" ? "Only radiologists can sign." : "There is no draft to sign.");
    return;
  }
  if (dirty) {
    say("Save your edits first (Ctrl+Enter): signing signs the saved version.");
    return;
  }
  dialog.showModal();
  dialog.querySelector("input[type=password]")?.focus();
}

if (dialog) {
  dialog.querySelector("form").addEventListener("submit", () => { submitting = true; });
  if (dialog.hasAttribute("data-open-on-load")) {
    dialog.showModal();
    dialog.querySelector("input[type=password]")?.focus();
  }
}

// --- image layers ---------------------------------------------------------------------

function drawMarkers(index) {
  const layer = sagittal?.querySelector("[data-marker-layer]");
  if (!layer) return;
  layer.replaceChildren();
  if (!markersOn) return;
  const [, , width] = layer.getAttribute("viewBox").split(" ").map(Number);
  const radius = width * 0.015;
  for (const marker of markersData) {
    const group = document.createElementNS(SVG, "g");
    group.setAttribute("class", marker.slice === index ? "marker on-slice" : "marker");
    group.dataset.level = marker.level;
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", marker.col + 0.5);
    dot.setAttribute("cy", marker.row + 0.5);
    dot.setAttribute("r", radius);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", marker.col + 0.5 + radius * 1.8);
    label.setAttribute("y", marker.row + 0.5 + width * 0.012);
    label.setAttribute("font-size", width * 0.035);
    label.textContent = marker.level;
    group.append(dot, label);
    layer.append(group);
  }
}

function drawOverlay(index) {
  const image = sagittal?.querySelector("[data-mask-layer]");
  const url = sagittal?.dataset.overlayUrl;
  if (!image || !url) return;
  if (!overlayOn) {
    image.hidden = true;
    return;
  }
  image.onerror = () => {
    image.hidden = true;
    say(`No segmentation for slice ${index + 1}.`);
  };
  image.onload = () => { image.hidden = false; };
  image.src = url.replace("{index}", String(index));
}

function currentIndex() {
  return Number(sagittal?.dataset.slice ?? 0);
}

function toggleOverlay() {
  const button = document.querySelector("[data-toggle-overlay]");
  if (!sagittal?.dataset.overlayUrl || !button || button.disabled) {
    say("No predicted segmentation to overlay on this series.");
    return;
  }
  overlayOn = !overlayOn;
  button.setAttribute("aria-pressed", String(overlayOn));
  sagittal.dataset.overlay = overlayOn ? "on" : "off";
  drawOverlay(currentIndex());
  say(overlayOn ? "Segmentation overlay on." : "Segmentation overlay off.");
}

function toggleMarkers() {
  const button = document.querySelector("[data-toggle-markers]");
  if (!button || button.disabled) return;
  markersOn = !markersOn;
  button.setAttribute("aria-pressed", String(markersOn));
  drawMarkers(currentIndex());
  say(markersOn ? "Disc centres shown." : "Disc centres hidden.");
}

if (sagittal) {
  sagittal.addEventListener("viewer:slice", (event) => {
    drawMarkers(event.detail.index);
    drawOverlay(event.detail.index);
  });
}

function jump(link) {
  const root = document.querySelector(`[data-viewer][data-series-id="${link.dataset.jumpSeries}"]`);
  if (!root?.sliceViewer) return false;
  const number = link.dataset.jumpInstance;
  if (!root.sliceViewer.goToInstance(number)) {
    say(`Image ${number} is not in this series.`);
    return true;
  }
  root.focus({ preventScroll: false });
  say(`Showing image ${number}.`);
  return true;
}

function edit() {
  if (focusFirstEdit()) return;
  const amend = document.querySelector("[data-amend-link]");
  if (amend) amend.click();
  else say("Only radiologists can edit this report.");
}

function switchViewer() {
  const viewers = [...document.querySelectorAll("[data-viewer]")];
  if (!viewers.length) return;
  const at = viewers.findIndex((v) => v.contains(document.activeElement));
  viewers[(at + 1) % viewers.length].focus();
}

// --- wiring ------------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-open-sign], [data-close-dialog], [data-toggle-overlay], [data-toggle-markers], [data-jump-instance]");
  if (!target) return;
  if (target.matches("[data-open-sign]")) openSign();
  else if (target.matches("[data-close-dialog]")) target.closest("dialog").close();
  else if (target.matches("[data-toggle-overlay]")) toggleOverlay();
  else if (target.matches("[data-toggle-markers]")) toggleMarkers();
  else if (target.matches("[data-jump-instance]") && jump(target)) event.preventDefault();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !dialog?.open) {
    event.preventDefault();
    save();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event) || dialog?.open) return;
  const actions = {
    e: edit,
    S: openSign,
    a: () => {
      const amend = document.querySelector("[data-amend-link]");
      if (amend) amend.click();
      else say("Only a signed report is amended; edit the draft instead (e).");
    },
    o: toggleOverlay,
    m: toggleMarkers,
    v: switchViewer,
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});
