// Shared parking: the little script the pages use. Everything works without it; it adds
// confirmation before destructive actions.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
