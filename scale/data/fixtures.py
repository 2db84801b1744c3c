"""Stand-ins, in the real formats, for the paper's inputs that this machine cannot download.

The rehearsal (``configs/rehearsal.yaml`` over ``configs/paper.yaml``) runs the
paper config's own code paths on these:

* ``write_visionr1_fixture``: both Vision-R1 annotation files with the keys,
  roles, image-path layouts, question layouts and answer endings listed in
  ``REAL_FORMATS.md``, records of every source the paper config names and of
  other sources, and records each filter must drop (missing or corrupt image,
  no ``</think>``, no final answer, a gold letter that is no option);
* ``write_test_set_fixture``: ScienceQA-IMG and ICON-QA test splits saved with
  ``datasets.save_to_disk`` under their real column names and types, so that
  ``prepare-test`` reads them exactly as it reads a fetched hub split.

Pictures and answers come from ``scale.data.synthetic`` scenes, so every kept
record is answerable from its image. The text paper config's inputs (``write_openr1_fixture``; GSM8K and
MATH-500 through ``write_test_set_fixture``) are made of ``scale.data.arithmetic`` problems, so every kept
record's answer follows from its question.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from scale.data.records import LETTERS
from scale.data.synthetic import generate
from scale.data.visionr1 import ANNOTATION_FILES

# Which fixture sources feed which paper subset (configs/paper.yaml: scienceqa [sqa, ScienceQA],
# iconqa [IconQA, iconqa]); chartqa and coco are other sources that must be filtered out.
DROP_KINDS = ("image_missing", "image_unreadable", "no_think_close", "no_final_answer", "answer_not_a_choice")


def _trace(record: dict) -> str:
    """The think part of a synthetic training response, without its answer block."""
    return record["response"].split("</think>")[0] + "</think>"


def _inline_options(choices: list[str]) -> str:
    return " ".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))


def _listed_options(choices: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))


def _science_question(record: dict, layout: str) -> str:
    """A ScienceQA question in one of the corpus's layouts (the synthetic context becomes its hint)."""
    context, question = record["question"].split("\n", 1)
    hint = context.removeprefix("Context: ")
    if layout == "inline":  # LLaVA-CoT: "Q\nContext: …\nOptions: (A) x (B) y"
        return f"<image>\n{question}\nContext: {hint}\nOptions: {_inline_options(record['choices'])}"
    if layout == "aokvqa":  # "Q\nA. x\nB. y\nAnswer with the option's letter …"
        return (f"<image>\nContext: {hint}\n{question}\n{_listed_options(record['choices'])}\n"
                "Answer with the option's letter from the given choices directly.")
    return f"<image>\nContext: {hint}\n{question}\nOptions:\n{_listed_options(record['choices'])}"


def _answer_tail(answer: str, ending: str) -> str:
    if ending == "bare":  # a cleaned copy's ending: no answer tags
        return f"\nFinal Answer:{answer}"
    return f" <answer> Final Answer:{answer} </answer>"


def write_visionr1_fixture(root: str | Path, per_source: int = 6, seed: int = 0) -> dict[str, Any]:
    """Write ``vision_r1_llava_cot_full.json``, ``vision_r1_mulberry_sft_full.json`` and their images under ``root``.

    Each paper source gets ``per_source`` good records plus one of each drop kind,
    spread over the subsets; returns what was written, by source and kind.
    """
    root = Path(root)
    rng = random.Random(seed)
    science = list(generate("scienceqa", "train", 4 * per_source + 8, seed, image_size=84, think_ratio=4))
    icon = [item for item in generate("iconqa", "train", 6 * per_source + 8, seed, image_size=84, think_ratio=4)
            if item[0]["qtype"] == "fill_in_blank"]
    files: dict[str, list[dict]] = {name: [] for name in ANNOTATION_FILES}
    written: dict[str, int] = {}

    def add(annotation: str, source_dir: str, rel_image: str, image, question: str, response: str,
            kind: str) -> None:
        llava = annotation == ANNOTATION_FILES[0]
        top = "llava_cot_images" if llava else "mulberry_images"
        # LLaVA-CoT paths come both with and without the llava_cot_images/ prefix (REAL_FORMATS.md)
        unprefixed = llava and len(files[annotation]) % 2
        path = f"{source_dir}/{rel_image}" if unprefixed else f"{top}/{source_dir}/{rel_image}"
        target = root / top / source_dir / rel_image
        if kind != "image_missing":
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "image_unreadable":
                target.write_bytes(b"not an image")
            else:
                image.save(target)
        human, gpt = ("human", "gpt") if llava else ("user", "assistant")
        row: dict[str, Any] = {"conversations": [{"from": human, "value": question}, {"from": gpt, "value": response}]}
        if llava:
            row = {"id": f"{source_dir}-{len(files[annotation])}", "image": path, **row}
        else:  # string or list: REAL_FORMATS.md leaves it open, the reader takes both
            row = {"images": [path] if len(files[annotation]) % 2 else path, **row}
        files[annotation].append(row)
        written[f"{source_dir}/{kind}"] = written.get(f"{source_dir}/{kind}", 0) + 1

    def science_rows(annotation: str, source_dir: str, layouts: tuple[str, ...], items: list) -> None:
        for i, (record, image) in enumerate(items[:per_source + len(DROP_KINDS)]):
            kind = "kept" if i < per_source else DROP_KINDS[i - per_source]
            question = _science_question(record, layouts[i % len(layouts)])
            answer = record["answer"]
            if kind == "answer_not_a_choice":
                answer = LETTERS[len(record["choices"])]
            ending = "bare" if i % 3 == 2 else "tagged"
            response = _trace(record) + _answer_tail(answer, ending)
            if kind == "no_think_close":
                response = response.replace("</think>", "")
            elif kind == "no_final_answer":
                response = _trace(record)
            add(annotation, source_dir, f"train/{i:05d}/image.png", image, question, response, kind)

    def icon_rows(annotation: str, source_dir: str, items: list) -> None:
        for i, (record, image) in enumerate(items[:per_source + len(DROP_KINDS) - 1]):
            kind = "kept" if i < per_source else DROP_KINDS[i - per_source]
            response = _trace(record) + _answer_tail(record["answer"], "bare" if i % 2 else "tagged")
            if kind == "no_think_close":
                response = response.replace("</think>", "")
            elif kind == "no_final_answer":
                response = _trace(record)
            add(annotation, source_dir, f"images/{i:05d}.png", image, f"<image>\n{record['question']}", response, kind)

    half = len(science) // 2
    science_rows(ANNOTATION_FILES[0], "sqa", ("inline",), science[:half])
    science_rows(ANNOTATION_FILES[1], "ScienceQA", ("listed", "aokvqa"), science[half:])
    icon_rows(ANNOTATION_FILES[1], "IconQA", icon)
    for annotation, source_dir in ((ANNOTATION_FILES[0], "coco"), (ANNOTATION_FILES[1], "chartqa")):
        for i, (record, image) in enumerate(science[:2]):  # other sources: never candidates
            add(annotation, source_dir, f"other/{i:05d}.png", image, _science_question(record, "listed"),
                _trace(record) + _answer_tail(record["answer"], "tagged"), "other_source")
    for rows in files.values():
        rng.shuffle(rows)
    root.mkdir(parents=True, exist_ok=True)
    for annotation, rows in files.items():
        (root / annotation).write_text(json.dumps(rows, indent=1) + "\n")
    return written


def write_test_set_fixture(dataset: str, out_dir: str | Path, rows: int = 8, seed: int = 0) -> Path:
    """A test split in the hub dataset's columns and feature types, saved with ``save_to_disk``."""
    import datasets

    if dataset in ("gsm8k", "math500"):
        columns, features = _text_test_columns(dataset, rows, seed)
    elif dataset == "scienceqa":
        items = list(generate(dataset, "test", rows, seed, image_size=84))
        columns: dict[str, list] = {key: [] for key in (
            "image", "question", "choices", "answer", "hint", "task", "grade", "subject", "topic", "category",
            "skill", "lecture", "solution")}
        for i, (record, image) in enumerate(items):
            context, question = record["question"].split("\n", 1)
            values = dict(image=image if i != 1 else None,  # one text-only row, skipped as in the real split
                          question=question, choices=record["choices"], answer=LETTERS.index(record["answer"]),
                          hint=context.removeprefix("Context: ") if i % 2 else "", task="closed choice",
                          grade="grade4", subject="natural science", topic="colours", category="shapes",
                          skill="counting", lecture="", solution="")
            for key, value in values.items():
                columns[key].append(value)
        features = datasets.Features({
            "image": datasets.Image(), "question": datasets.Value("string"),
            "choices": datasets.List(datasets.Value("string")), "answer": datasets.Value("int8"),
            **{k: datasets.Value("string") for k in ("hint", "task", "grade", "subject", "topic", "category",
                                                     "skill", "lecture", "solution")}})
    elif dataset == "iconqa":
        items = list(generate(dataset, "test", rows, seed, image_size=84))
        columns = {key: [] for key in ("question_id", "question", "choices", "answer", "query_image",
                                       "choice_image_0", "choice_image_1", "ques_type", "label", "grade", "skills")}
        for i, (record, image) in enumerate(items + items[:1]):
            choose_img = i == len(items)  # one picture-choice row, which the paper leaves out
            values = dict(question_id=str(10_000 + i), question=record["question"],
                          choices=",".join(record["choices"] or []), answer=record["answer"], query_image=image,
                          choice_image_0=image if choose_img else None, choice_image_1=image if choose_img else None,
                          ques_type="choose_img" if choose_img else record["qtype"], label="", grade="grade1",
                          skills="counting")
            for key, value in values.items():
                columns[key].append(value)
        features = datasets.Features({
            **{k: datasets.Value("string") for k in ("question_id", "question", "choices", "answer", "ques_type",
                                                     "label", "grade", "skills")},
            **{k: datasets.Image() for k in ("query_image", "choice_image_0", "choice_image_1")}})
    else:
        raise ValueError(f"no test-set fixture for {dataset!r}")
    out_dir = Path(out_dir)
    datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(out_dir))
    return out_dir


# --- the text paper config's inputs (configs/text_paper.yaml): OpenR1-Math-220k, GSM8K, MATH-500

OPENR1_DROP_KINDS = ("no_correct_trace", "cut_by_length", "no_think_close", "no_final_answer",
                     "boxed_answer_differs", "no_answer")
OPENR1_SOURCES = ("olympiads", "cn_contest", "amc_aime")


def _openr1_generation(record: dict, boxed: str, think_open: bool = True) -> str:
    trace = record["response"].split("</think>")[0].removeprefix("<think>")
    opening = "<think>\n" if think_open else ""
    return (f"{opening}{trace.strip()}\n</think>\n\nAdding the changes in order gives the count.\n\n"
            f"The answer is $\\boxed{{{boxed}}}$.")


def write_openr1_fixture(out_dir: str | Path, rows: int = 24, seed: int = 0) -> dict[str, int]:
    """OpenR1-Math-220k's ``default`` split in its columns and types, saved with ``save_to_disk``: ``rows`` good
    rows over three sources (each written some other way: a first generation judged wrong, Math-Verify's verdict
    missing and Llama's used, no opening ``<think>``, the box a fraction of the answer), then one row of each kind
    the filter must drop. Returns the count of each kind written."""
    import datasets

    from scale.data.arithmetic import generate as arithmetic

    problems = list(arithmetic("gsm8k", "train", rows + len(OPENR1_DROP_KINDS), seed, think_ratio=2))
    columns: dict[str, list] = {key: [] for key in (
        "problem", "solution", "answer", "problem_type", "question_type", "source", "uuid", "is_reasoning_complete",
        "generations", "correctness_math_verify", "correctness_llama", "finish_reasons", "correctness_count",
        "messages")}
    written: dict[str, int] = {}
    for i, record in enumerate(problems):
        kind = "kept" if i < rows else OPENR1_DROP_KINDS[i - rows]
        answer = record["answer"]
        boxed = f"\\frac{{{2 * int(answer)}}}{{2}}" if i % 4 == 3 else answer
        good = _openr1_generation(record, boxed, think_open=i % 5 != 4)
        wrong = _openr1_generation(record, str(int(answer) + 1))
        generations, verify, llama, finish = [good, wrong], [True, False], [None, None], ["stop", "stop"]
        if i % 3 == 1:  # the first trace judged wrong, the second right
            generations, verify = [wrong, good], [False, True]
        if i % 6 == 2:  # no Math-Verify verdict: Llama's judgement counts (about 12% of the card's rows)
            verify, llama = [None, None], [True, False]
        if kind == "no_correct_trace":
            verify = [False, False]
        elif kind == "cut_by_length":
            finish = ["length", "length"]
        elif kind == "no_think_close":
            generations = [g.replace("</think>", "") for g in generations]
        elif kind == "no_final_answer":
            generations = [g.split("The answer is")[0] for g in generations]
        elif kind == "boxed_answer_differs":
            generations = [_openr1_generation(record, str(int(answer) + 5))] * 2
        elif kind == "no_answer":
            answer = ""
        values = dict(
            problem=record["question"], solution=f"Work through the changes. The answer is ${answer}$.",
            answer=answer, problem_type="Algebra", question_type="math-word-problem",
            source=OPENR1_SOURCES[i % len(OPENR1_SOURCES)], uuid=f"fixture-{seed}-{i:05d}",
            is_reasoning_complete=[f == "stop" for f in finish], generations=generations,
            correctness_math_verify=verify, correctness_llama=llama, finish_reasons=finish,
            correctness_count=sum(bool(v) for v in verify),
            messages=[{"role": "user", "content": record["question"]},
                      {"role": "assistant", "content": generations[0]}])
        for key, value in values.items():
            columns[key].append(value)
        written[kind] = written.get(kind, 0) + 1
    features = datasets.Features({
        **{k: datasets.Value("string") for k in ("problem", "solution", "answer", "problem_type", "question_type",
                                                 "source", "uuid")},
        "is_reasoning_complete": datasets.List(datasets.Value("bool")),
        "generations": datasets.List(datasets.Value("string")),
        "correctness_math_verify": datasets.List(datasets.Value("bool")),
        "correctness_llama": datasets.List(datasets.Value("bool")),
        "finish_reasons": datasets.List(datasets.Value("string")),
        "correctness_count": datasets.Value("int64"),
        "messages": datasets.List({"content": datasets.Value("string"), "role": datasets.Value("string")}),
    })
    datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(out_dir))
    return written


def _text_test_columns(dataset: str, rows: int, seed: int) -> tuple[dict[str, list], Any]:
    import datasets

    from scale.data.arithmetic import generate as arithmetic

    problems = list(arithmetic("gsm8k", "test", rows, seed))
    if dataset == "gsm8k":  # a worked solution ending "#### <number>"; one row with a thousands comma, one without
        columns = {"question": [r["question"] for r in problems],
                   "answer": [f"Work through the changes in order.\n#### {r['answer']}" for r in problems]}
        columns["question"] += ["A shop has 999 pens and gets 1 more. How many pens does it have?", "No answer here."]
        columns["answer"] += ["999 + 1 = 1000.\n#### 1,000", "The solution never states its number."]
        return columns, datasets.Features({k: datasets.Value("string") for k in columns})
    columns = {"problem": [], "solution": [], "answer": [], "subject": [], "level": [], "unique_id": []}
    for i, r in enumerate(problems):
        answer = f"\\frac{{{2 * int(r['answer'])}}}{{2}}" if i % 2 else r["answer"]
        for key, value in dict(problem=r["question"], solution=f"The count is $\\boxed{{{answer}}}$.", answer=answer,
                               subject="Prealgebra", level=1 + i % 5, unique_id=f"test/prealgebra/{i}.json").items():
            columns[key].append(value)
    features = datasets.Features({**{k: datasets.Value("string") for k in ("problem", "solution", "answer", "subject",
                                                                             "unique_id")},
                                  "level": datasets.Value("int64")})
    return columns, features
