"""Zero-shot forms: how a task's rows become the (context, continuation) pairs that a causal LM
scores by log-likelihood, as lm-evaluation-harness forms them. A form is data; a task names its
form (``TaskSpec.zero_shot``), and a task with choices and no form gets ``choices``.

* ``choices``: the context is the task's text fields joined by a newline (as the causal-LM head
  joins them: ``heads.batching.prompts``), each choice continued after a space (lm-eval's
  ``target_delimiter``). The offline rows already hold lm-eval's prompt ("Question: ...\\nAnswer:").
* a ``template`` (``str.format`` over the text fields by position) builds the context instead;
  ``verbalizers`` give the choices of a classification task (label i -> verbalizers[i]).
* ``partial`` (WinoGrande): the sentence up to its blank, filled with each option, is the context
  of that option; the rest of the sentence is the one continuation shared by both.

Rows (dicts) are read through the spec's field names only, so one form serves a task's offline
and hub copies alike.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

BLANK = "_"


@dataclass(frozen=True)
class ChoiceItem:
    """One question. ``contexts`` has one entry (shared by the choices) or one per choice
    (WinoGrande's partial scoring); likewise ``continuations``. ``lengths``: the characters of
    each choice's text (lm-eval's ``acc_norm`` divides by them)."""

    contexts: tuple[str, ...]
    continuations: tuple[str, ...]
    label: int
    lengths: tuple[int, ...]

    @property
    def k(self) -> int:
        return max(len(self.contexts), len(self.continuations))

    def pairs(self) -> list[tuple[str, str]]:
        ctx = self.contexts * self.k if len(self.contexts) == 1 else self.contexts
        cont = self.continuations * self.k if len(self.continuations) == 1 else self.continuations
        return list(zip(ctx, cont, strict=True))


def shared_context(context: str, choices: Sequence[str], label: int) -> ChoiceItem:
    """One context and its choices continued after a space (lm-eval's target delimiter)."""
    return ChoiceItem(
        (context,), tuple(" " + str(c) for c in choices), int(label), tuple(len(str(c)) for c in choices)
    )  # fmt: skip


@dataclass(frozen=True)
class ZeroShotForm:
    name: str
    template: str | None = None  # str.format over the text fields ({0}, {1}); None: "\n"-joined
    verbalizers: tuple[str, ...] | None = None  # a classification task's choices, by label
    partial: bool = False  # WinoGrande's partial scoring (one text field with one blank)
    strip: bool = False  # strip each field before the template
    lm_eval: str = ""  # the lm-evaluation-harness task whose prompt this is

    def placeholders(self) -> int:
        """How many text fields the template reads."""
        if self.template is None:
            return 0
        fields = [int(f) for _, f, _, _ in string.Formatter().parse(self.template) if f]
        return max(fields) + 1 if fields else 0

    def item(self, row: dict, text_fields: Sequence[str], label_field: str,
             choices_field: str | None) -> ChoiceItem | None:  # fmt: skip
        """The row as a question; None where the form does not apply (a sentence without
        exactly one blank)."""
        fields = [str(row[f]) for f in text_fields]
        if self.strip:
            fields = [f.strip() for f in fields]
        label = int(row[label_field])
        choices = list(self.verbalizers or [str(c) for c in row[choices_field]])
        if self.partial:
            return _partial(fields[0], choices, label)
        context = self.template.format(*fields) if self.template else "\n".join(fields)
        return shared_context(context, choices, label)


def _partial(sentence: str, options: list[str], label: int) -> ChoiceItem | None:
    if sentence.count(BLANK) != 1:
        return None
    i = sentence.index(BLANK)
    rest = " " + sentence[i + 1 :].strip()
    contexts = tuple(sentence[:i] + o for o in options)
    return ChoiceItem(contexts, (rest,), label, (len(rest),) * len(options))


FORMS: Registry[ZeroShotForm] = Registry("zero-shot form")


def _add(form: ZeroShotForm) -> None:
    FORMS.add(form.name, form)


_add(ZeroShotForm("choices", lm_eval="arc_easy, piqa, hellaswag, openbookqa, sciq, copa"))
_add(ZeroShotForm("closed_book", "Question: {0}\nAnswer:", strip=True,
                  lm_eval="(junkdna's closed-book QA prompt; the evidence field is not shown)"))  # fmt: skip
_add(ZeroShotForm("passage_question", "{1}\nQuestion: {0}\nAnswer:", lm_eval="boolq"))
_add(ZeroShotForm("partial", partial=True, lm_eval="winogrande"))
_add(ZeroShotForm("true_false", "{0}\nQuestion: {1} True or False?\nAnswer:",
                  ("True", "False"), lm_eval="rte"))  # fmt: skip
_add(ZeroShotForm("sentiment", "{0}\nQuestion: Is this sentence positive or negative?\nAnswer:",
                  ("negative", "positive"), lm_eval="sst2"))  # fmt: skip
_add(ZeroShotForm("same_meaning", "Sentence 1: {0}\nSentence 2: {1}\nQuestion: Do both "
                  "sentences mean the same thing?\nAnswer:", ("no", "yes"), lm_eval="mrpc"))  # fmt: skip
_add(ZeroShotForm("true_false_neither", "{0}\nQuestion: {1}. True, False, or Neither?\nAnswer:",
                  ("True", "False", "Neither"), lm_eval="cb"))  # fmt: skip


def check_form(name: str, where: str, text_fields: Sequence[str], num_labels: int | None,
               choices_field: str | None) -> None:  # fmt: skip
    """A spec's zero-shot form must fit it (called when the spec is registered)."""
    form = FORMS.get(name)
    if form.verbalizers is not None:
        if choices_field is not None or num_labels != len(form.verbalizers):
            raise JunkDNAError(
                f"{where}: zero-shot form {name!r} verbalizes {len(form.verbalizers)} labels; it "
                f"fits a task without choices and num_labels={len(form.verbalizers)}"
            )
    elif choices_field is None:
        raise JunkDNAError(f"{where}: zero-shot form {name!r} reads the row's choices: the task "
                           "needs a choices_field")  # fmt: skip
    if form.partial and len(text_fields) != 1:
        raise JunkDNAError(f"{where}: zero-shot form {name!r} reads one sentence with a blank")
    if form.placeholders() > len(text_fields):
        raise JunkDNAError(
            f"{where}: zero-shot form {name!r} reads {form.placeholders()} text fields; the task "
            f"has {len(text_fields)}"
        )
