// A destructive button asks before it acts: the first click arms it (its
// label becomes the question), a second click within 4 s runs fn.
export function armed(button, question, fn) {
  const label = button.textContent;
  let timer = 0;
  const disarm = () => {
    clearTimeout(timer);
    button.classList.remove('armed');
    button.textContent = label;
  };
  button.addEventListener('click', async () => {
    if (!button.classList.contains('armed')) {
      button.classList.add('armed');
      button.textContent = question;
      timer = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    button.disabled = true;
    try { await fn(); } finally { button.disabled = false; }
  });
}
