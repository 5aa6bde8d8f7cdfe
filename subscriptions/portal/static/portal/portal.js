// Partner portal: the little behaviour that is not htmx. No inline scripts, so a strict CSP can be used.
document.addEventListener("DOMContentLoaded", function () {
  // A one-time sign-in link submits itself (a person's browser runs this; link previewers do not).
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (button && navigator.clipboard) {
    navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent.trim());
    button.textContent = "Copied";
  }
});
