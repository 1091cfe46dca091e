// Slice viewer: loads a whole series once, then scrolls and windows locally.
// Keyboard: ↑/↓ slice, PgUp/PgDn by 5, Home/End, ←/→ width, Shift+←/→ level,
// 1-3 presets, r reset; mouse wheel scrolls, drag windows; [ ] change series.
import { isTyping } from "./keys.js";
import { paint, windowLut } from "./windowing.js";

class SliceViewer {
  constructor(root) {
    this.root = root;
    this.canvas = root.querySelector("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.sliceLabel = root.querySelector("[data-slice-label]");
    this.wlLabel = root.querySelector("[data-wl-label]");
    this.slider = root.querySelector("[data-slice-slider]");
    this.progress = root.querySelector("[data-loading]");
    this.index = 0;
    this.maxValue = 0;
    // Other scripts on the page (the report review) drive the viewer through this.
    root.sliceViewer = this;
  }

  async load() {
    const response = await fetch(this.root.dataset.volumeUrl, { credentials: "same-origin" });
    if (!response.ok) {
      this.sliceLabel.textContent = `Could not load images (${response.status}).`;
      return;
    }
    const [slices, rows, cols] = response.headers.get("X-Volume-Shape").split(",").map(Number);
    this.meta = JSON.parse(response.headers.get("X-Volume-Meta"));
    const total = Number(response.headers.get("Content-Length")) || slices * rows * cols * 2;
    const reader = response.body.getReader();
    const buffer = new Uint8Array(total);
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer.set(value, received);
      received += value.length;
      this.progress.value = (100 * received) / total;
    }
    this.progress.hidden = true;
    this.pixels = new Uint16Array(buffer.buffer, 0, slices * rows * cols);
    this.shape = { slices, rows, cols };
    this.canvas.width = cols;
    this.canvas.height = rows;
    // Non-square pixels: stretch the canvas so anatomy keeps its proportions.
    const [rowSpacing, colSpacing] = this.meta.pixel_spacing;
    this.canvas.style.aspectRatio = `${cols * colSpacing} / ${rows * rowSpacing}`;
    for (let i = 0; i < this.pixels.length; i++) if (this.pixels[i] > this.maxValue) this.maxValue = this.pixels[i];
    this.imageData = this.ctx.createImageData(cols, rows);
    this.slider.max = String(slices - 1);
    this.reset();
    this.go(Math.floor(slices / 2));
    const start = this.pendingInstance ?? this.root.dataset.startInstance;
    if (start != null && start !== "") this.goToInstance(start);
    this.bind();
    this.root.dataset.ready = "true";
  }

  // Show the slice with this InstanceNumber; false when the series has none.
  goToInstance(number) {
    if (!this.shape) {
      this.pendingInstance = number;
      return true;
    }
    const index = this.meta.instance_numbers.indexOf(Number(number));
    if (index < 0) return false;
    this.go(index);
    return true;
  }

  reset() { this.setWindow(this.meta.window_center, this.meta.window_width); }

  preset(n) {
    const top = this.maxValue || 1;
    const presets = {
      1: [this.meta.window_center, this.meta.window_width],
      2: [top * 0.35, top * 0.6],
      3: [top * 0.6, top * 0.8],
    };
    if (presets[n]) this.setWindow(...presets[n]);
  }

  setWindow(center, width) {
    this.center = center;
    this.width = Math.max(1, width);
    this.lut = windowLut(this.center, this.width, Math.max(this.maxValue, 1));
    this.wlLabel.textContent = `W ${Math.round(this.width)} / L ${Math.round(this.center)}`;
    this.draw();
  }

  go(index) {
    if (!this.shape) return;
    this.index = Math.max(0, Math.min(index, this.shape.slices - 1));
    this.slider.value = String(this.index);
    const number = this.meta.instance_numbers[this.index];
    this.sliceLabel.textContent = `Slice ${this.index + 1} / ${this.shape.slices}` + (number != null ? ` (image ${number})` : "");
    this.root.dataset.slice = String(this.index);
    this.draw();
    this.root.dispatchEvent(new CustomEvent("viewer:slice", { detail: { index: this.index, instanceNumber: number } }));
  }

  draw() {
    if (!this.shape || !this.lut) return;
    const size = this.shape.rows * this.shape.cols;
    paint(this.imageData, this.pixels.subarray(this.index * size, (this.index + 1) * size), this.lut);
    this.ctx.putImageData(this.imageData, 0, 0);
  }

  bind() {
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    this.slider.addEventListener("input", () => this.go(Number(this.slider.value)));
    this.canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      this.go(this.index + Math.sign(event.deltaY));
    }, { passive: false });
    this.canvas.addEventListener("pointerdown", (event) => {
      const start = { x: event.clientX, y: event.clientY, c: this.center, w: this.width };
      const move = (e) => this.setWindow(start.c + (e.clientY - start.y) * 4, start.w + (e.clientX - start.x) * 4);
      const up = () => { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
    });
  }

  onKey(event) {
    if (event.target === this.slider && ["ArrowLeft", "ArrowRight"].includes(event.key)) return;
    const step = Math.max(1, this.width * 0.1);
    const actions = {
      ArrowUp: () => this.go(this.index - 1),
      ArrowDown: () => this.go(this.index + 1),
      PageUp: () => this.go(this.index - 5),
      PageDown: () => this.go(this.index + 5),
      Home: () => this.go(0),
      End: () => this.go(this.shape.slices - 1),
      ArrowLeft: () => event.shiftKey ? this.setWindow(this.center - step, this.width) : this.setWindow(this.center, this.width - step),
      ArrowRight: () => event.shiftKey ? this.setWindow(this.center + step, this.width) : this.setWindow(this.center, this.width + step),
      r: () => this.reset(),
      1: () => this.preset(1),
      2: () => this.preset(2),
      3: () => this.preset(3),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }
}

for (const root of document.querySelectorAll("[data-viewer]")) {
  const viewer = new SliceViewer(root);
  viewer.load();
  if (!root.hasAttribute("data-no-autofocus")) root.focus({ preventScroll: true });
}

// [ and ] move between the study's series.
document.addEventListener("keydown", (event) => {
  if (isTyping(event) || !["[", "]"].includes(event.key)) return;
  const links = [...document.querySelectorAll("[data-series-link]")];
  const at = links.findIndex((a) => a.closest("li").getAttribute("aria-current") === "true");
  const next = links[at + (event.key === "]" ? 1 : -1)];
  if (next) window.location.href = next.href;
});
