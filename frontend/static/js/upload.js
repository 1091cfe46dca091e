// Uploads with a progress bar (bytes sent), then the server's per-file outcome.

function cookie(name) {
  return document.cookie.split("; ").find((c) => c.startsWith(`${name}=`))?.split("=")[1] ?? "";
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

function renderIngest(result, tbody) {
  const outcomes = [
    ...result.stored.map((f) => [f.name, "stored", f.detail]),
    ...result.duplicates.map((f) => [f.name, "duplicate", f.detail]),
    ...result.rejected.map((f) => [f.name, "rejected", f.detail]),
  ];
  for (const cells of outcomes) {
    const tr = row(cells);
    tr.className = cells[1];
    tbody.append(tr);
  }
  return `${result.stored.length} stored, ${result.duplicates.length} duplicate, ${result.rejected.length} rejected, in ${result.studies.length} stud${result.studies.length === 1 ? "y" : "ies"}.`;
}

function renderReports(result, tbody) {
  for (const p of [...result.unmatched, ...result.errors]) tbody.append(row([p.row, p.key, p.reason]));
  if (result.fatal_error) return result.fatal_error;
  return `${result.imported} imported, ${result.duplicates} duplicate, ${result.unmatched.length} unmatched, ${result.errors.length} with errors.`;
}

for (const form of document.querySelectorAll("[data-upload-form]")) {
  const field = form.dataset.field || "files";
  const bar = form.querySelector("[data-progress]");
  const label = form.querySelector("[data-progress-label]");
  const results = document.querySelector("[data-results]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = form.querySelector("input[type=file]");
    if (!input.files.length) {
      label.textContent = "Choose at least one file first.";
      input.focus();
      return;
    }
    const body = new FormData();
    for (const file of input.files) body.append(field, file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint);
    xhr.setRequestHeader("X-CSRFToken", cookie("csrftoken") || form.querySelector("[name=csrfmiddlewaretoken]").value);
    xhr.responseType = "json";
    bar.hidden = false;
    bar.removeAttribute("value");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = (100 * e.loaded) / e.total;
      label.textContent = e.loaded < e.total ? `Uploading… ${Math.round(bar.value)}%` : "Processing on the server…";
    });
    xhr.addEventListener("load", () => {
      bar.value = 100;
      const result = xhr.response || { detail: `Server answered ${xhr.status}.` };
      const tbody = results.querySelector("[data-rows]");
      tbody.replaceChildren();
      let summary;
      if (result.stored) summary = renderIngest(result, tbody);
      else if ("imported" in result) summary = renderReports(result, tbody);
      else summary = result.detail || `Server answered ${xhr.status}.`;
      results.querySelector("[data-summary]").textContent = summary;
      results.hidden = false;
      label.textContent = "Done.";
      results.querySelector("h2").focus?.();
    });
    xhr.addEventListener("error", () => { label.textContent = "Network error: nothing was sent. Try again."; });
    label.textContent = "Uploading…";
    xhr.send(body);
  });
}
