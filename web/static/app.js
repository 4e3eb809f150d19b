// Comfort only; every page works without it. "/" focuses the search box.
document.addEventListener("keydown", (event) => {
  const box = document.getElementById("q");
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  if (event.key === "/" && box && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    box.focus();
    box.select();
  }
});

// Empty filters and the default ranking stay out of the URL (the form works without this).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("search-form")) return;
  for (const field of form.querySelectorAll("input, select")) {
    const unset = field.value.trim() === ""
      || (field.name === "mode" && field.value === form.dataset.defaultMode)
      || (field.name === "sort" && field.value === "relevance");
    if (field.name !== "q" && unset) field.disabled = true;
  }
});
// Coming back to the page (history), the fields must be usable again.
window.addEventListener("pageshow", () => {
  for (const field of document.querySelectorAll(".search-form [disabled]")) field.disabled = false;
});
