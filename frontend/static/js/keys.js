// Global keyboard shortcuts: "?" help, "/" search, "g s" studies.
// Keys typed into form fields are left alone.

export function isTyping(event) {
  const el = event.target;
  return el instanceof HTMLElement &&
    (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

let pendingG = false;

document.addEventListener("keydown", (event) => {
  // Escape leaves the search box so list shortcuts (j/k/Enter) work again.
  if (event.key === "Escape" && event.target.matches?.("[data-search]")) {
    event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) return;
  const help = document.getElementById("help-dialog");
  if (event.key === "?") {
    event.preventDefault();
    if (help && !help.open) help.showModal();
    return;
  }
  if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
    return;
  }
  if (pendingG) {
    pendingG = false;
    if (event.key === "s") window.location.href = "/studies/";
    return;
  }
  if (event.key === "g") pendingG = true;
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='show-help']");
  if (button) document.getElementById("help-dialog")?.showModal();
});
