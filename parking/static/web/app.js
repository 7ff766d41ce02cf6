// Shared parking: the little script the pages use. Everything works without it; it adds
// confirmation before destructive actions, a form sent once per tap, and "back" links
// that go back in history.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // A second tap while the first post is on its way is sent no more: the server would
  // answer it as done (the form's key), but only after the first, and the reader would
  // wait twice. Disabled after this tick, so the pressed button's own name and value
  // still go with the form.
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  setTimeout(() => {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach((b) => { b.disabled = true; });
  }, 0);
});
// Coming back to a page from the history shows its forms ready to send again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sent]").forEach((form) => {
    delete form.dataset.sent;
    form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  });
});

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
