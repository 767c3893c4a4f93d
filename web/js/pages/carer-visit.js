/* Log a visit in three taps: choosing how it felt (the third answer) saves the visit when the other two
 * are chosen. Without JavaScript the Save button does the same. */

const form = document.querySelector(".visit-form");
if (form) {
  form.addEventListener("change", function (event) {
    if (event.target.name !== "feeling") return;
    const answered = ["where", "what"].every(function (name) { return form.querySelector("input[name=" + name + "]:checked"); });
    if (answered) form.requestSubmit();
  });
}
