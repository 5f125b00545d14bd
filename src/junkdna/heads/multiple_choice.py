"""Multiple choice with a scoring head (CSQA, WinoGrande as RoBERTa does them): one question, a
list of choices, label = index of the right one. Each choice is encoded with its context
(``choice_texts``); the model scores every sequence and a softmax over the choices gives the
answer (AutoModelForMultipleChoice)."""

from __future__ import annotations

from junkdna.errors import JunkDNAError
from junkdna.heads.base import Head, is_index, register
from junkdna.heads.batching import SEQUENCE_KEYS
from junkdna.heads.classification import predict_argmax

BLANK = "_"


def choice_texts(context: str, choice: str) -> tuple[str, ...]:
    """The sequence(s) that score one choice. A context with exactly one blank ``_`` (WinoGrande)
    is the sentence with the blank filled by the choice; any other context (a CSQA question) is
    paired with the choice as a second segment. The encoder fills blanks only when every context
    of the split has one."""
    if context.count(BLANK) == 1:
        return (context.replace(BLANK, choice),)
    return (context, choice)


@register
class MultipleChoice(Head):
    name = "multiple-choice"
    stratify = True
    labels = "choice"
    choices = "required"
    auto_class = "AutoModelForMultipleChoice"

    def model_kwargs(self, num_labels):
        # One score per (context, choice) sequence, so no num_labels. The scoring layer is fresh;
        # it is a task head like any other.
        return {"ignore_mismatched_sizes": True}

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        n_text = len(task.text_fields)
        sizes = {len(r[n_text]) for r in rows if isinstance(r[n_text], list | tuple)}
        if len(sizes) != 1 or any(not isinstance(r[n_text], list | tuple) for r in rows):
            raise JunkDNAError(
                f"task {task.name!r}: every row of a multiple-choice task needs a list of choices "
                f"of the same length in {task.choices_field!r}; found lengths {sorted(sizes)}"
            )
        k = sizes.pop()
        for y in labels:
            if not is_index(y, k):
                raise JunkDNAError(
                    f"task {task.name!r}: multiple-choice labels must be choice indices in "
                    f"0..{k - 1}, got {y!r}"
                )
        contexts = [" ".join(str(t) for t in r[:n_text]) for r in rows]
        # One form per split: fill-in-the-blank only when every context has exactly one blank (a
        # CSQA question that happens to contain one "_" must not switch its row to another form).
        fill = all(c.count(BLANK) == 1 for c in contexts)
        texts = [
            choice_texts(ctx, str(c)) if fill else (ctx, str(c))
            for ctx, r in zip(contexts, rows, strict=True)
            for c in r[n_text]
        ]  # (n * k) tuples of one or two segments, question-major
        enc = tokenizer(
            *[list(c) for c in zip(*texts, strict=True)],
            truncation=True,
            max_length=recipe.max_length,
        )
        keys = [key for key in enc if key in SEQUENCE_KEYS]
        return [
            {**{key: enc[key][i * k : (i + 1) * k] for key in keys}, "labels": y}
            for i, y in enumerate(labels)
        ]

    def predict(self, model, tokenizer, features, recipe):
        return predict_argmax(model, tokenizer, features, recipe)  # logits: (batch, choices)
