// Behaviour of every page, kept out of the HTML (the Content-Security-Policy allows no
// inline script or event handler attribute).
document.addEventListener("change", function (event) {
  // A select marked data-autosubmit sends its form when changed (the language switch).
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
