// Copy buttons for one-time secrets. Without JavaScript the buttons stay
// hidden and the secret is selected and copied by hand.
document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
  var field = document.getElementById(b.getAttribute("data-copy"));
  if (!field || !navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      b.textContent = "Copied";
    });
  });
});
