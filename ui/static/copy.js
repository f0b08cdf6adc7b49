// The copy button beside a secret shown once; the secret is selectable without it.
for (const b of document.querySelectorAll("button[data-copy]")) {
  b.hidden = false;
  b.addEventListener("click", () => {
    const v = document.getElementById(b.dataset.copy).textContent;
    navigator.clipboard.writeText(v).then(() => { b.textContent = "Copied"; });
  });
}
