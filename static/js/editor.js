// Config editor: keeps each generated field's invalid state in step with its error
// container (the server re-renders the containers out of band while the user types,
// without touching the inputs, so focus and cursor stay where they are).
(function () {
  function mark(container) {
    if (!container.id || container.id.indexOf("err-") !== 0) return;
    const invalid = container.textContent.trim() !== "";
    const control = document.getElementById(container.id.slice(4));
    if (control) {
      if (invalid) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    const field = container.closest(".sf");
    if (field) field.classList.toggle("has-error", invalid);
  }

  function markAll() {
    document.querySelectorAll(".field-errors").forEach(mark);
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const swapped = event.target;
    if (swapped && swapped.classList && swapped.classList.contains("field-errors")) mark(swapped);
  });
  document.addEventListener("htmx:afterSettle", markAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markAll);
  else markAll();
})();
