/* Pipeline pages. Forms inside an element marked data-swap-errors answer a refused or
   invalid change with the fragment re-rendered around the error (400, 403, 404, 409);
   htmx does not swap error responses by default, so let it swap those. */
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  var source = event.detail.elt || event.target;
  if (status >= 400 && status < 500 && source && source.closest && source.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

/* A reason asked for in a matrix cell: focus its input when the question opens, and
   close the other open questions so only one is open at a time. */
document.addEventListener("toggle", function (event) {
  var details = event.target;
  if (!details.classList || !details.classList.contains("ask-reason") || !details.open) return;
  document.querySelectorAll("details.ask-reason[open]").forEach(function (other) {
    if (other !== details) other.open = false;
  });
  var input = details.querySelector("input[name=reason]");
  if (input) input.focus();
}, true);
