// The console's only script: copy buttons, and a confirmation before destructive forms.
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  input.select();
  try { await navigator.clipboard.writeText(input.value); } catch (_) { document.execCommand("copy"); }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// A page that shows a new secret is the answer to the form that made it: the history entry becomes the
// plain page, so a reload or Back does not post the form again (nor show the secret again).
const shown = document.querySelector("[data-replace-url]");
if (shown) history.replaceState(null, "", shown.dataset.replaceUrl);
