// j/k moves a highlighted row through a [data-row-nav] table; Enter opens it.
import { isTyping } from "./keys.js";

function rows() {
  return [...document.querySelectorAll("[data-row-nav] tbody tr[data-href]")];
}

let current = -1;

function highlight(index) {
  const all = rows();
  if (!all.length) return;
  current = Math.max(0, Math.min(index, all.length - 1));
  all.forEach((row, i) => row.classList.toggle("selected", i === current));
  all[current].scrollIntoView({ block: "nearest" });
  all[current].querySelector("a")?.focus({ preventScroll: true });
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) return;
  if (event.key === "j") highlight(current + 1);
  else if (event.key === "k") highlight(current - 1);
  else if (event.key === "Enter" && current >= 0 && !(event.target instanceof HTMLAnchorElement)) {
    const href = rows()[current]?.dataset.href;
    if (href) window.location.href = href;
  }
});

// A new table arrived through htmx: start again from the top.
document.body.addEventListener("htmx:afterSwap", () => { current = -1; });

document.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a")) window.location.href = row.dataset.href;
});
