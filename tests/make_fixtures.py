"""Write the paper-format fixtures in tests/fixtures/ from documented field layouts (never from real data).

Vision-R1-cold: two ShareGPT JSON files (see scale.data.visionr1) with images under
llava_cot_images/<source>/ and mulberry_images/<source>/. ScienceQA-IMG and IconQA
rows are built in the tests themselves (they carry PIL images).

    python tests/make_fixtures.py   # rewrites tests/fixtures/visionr1/
"""

import json
import shutil
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).parent / "fixtures" / "visionr1"

GOOD_MC = "<think>\nThe magnet pulls the nail, so the nail is made of iron.\n</think>\n<answer>B</answer>"
GOOD_NUM = "<think>\nI count the circles: one, two, three.\n</think>\n<answer>3</answer>"


def image(path: str, colour) -> None:
    target = ROOT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(target)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    for path, colour in (("llava_cot_images/sqa/1.png", "red"), ("llava_cot_images/sqa/2.png", "red"),
                         ("llava_cot_images/coco/3.png", "blue"), ("mulberry_images/ScienceQA/4.png", "green"),
                         ("mulberry_images/IconQA/5.png", "yellow"), ("mulberry_images/IconQA/6.png", "yellow"),
                         ("mulberry_images/chartqa/7.png", "white")):
        image(path, colour)
    (ROOT / "mulberry_images/IconQA/broken.png").write_bytes(b"not a png")
    mc_question = "<image>\nWhich material is the nail made of?\nOptions:\nA. wood\nB. iron"
    llava = [
        {"image": "llava_cot_images/sqa/1.png",  # kept: science
         "conversations": [{"from": "human", "value": mc_question}, {"from": "gpt", "value": GOOD_MC}]},
        {"image": "llava_cot_images/sqa/2.png",  # dropped: no answer block
         "conversations": [{"from": "human", "value": mc_question},
                           {"from": "gpt", "value": "<think>iron</think>\nB"}]},
        {"image": "llava_cot_images/coco/3.png",  # another source: not a candidate
         "conversations": [{"from": "human", "value": "<image>\nWhat is this?"},
                           {"from": "gpt", "value": "<think>a dog</think><answer>dog</answer>"}]},
        {"image": "llava_cot_images/sqa/missing.png",  # dropped: image missing
         "conversations": [{"from": "human", "value": mc_question}, {"from": "gpt", "value": GOOD_MC}]},
    ]
    mulberry = [
        {"images": ["mulberry_images/ScienceQA/4.png"],  # kept: science (Mulberry's SQA)
         "conversations": [{"from": "user", "value": mc_question}, {"from": "assistant", "value": GOOD_MC}]},
        {"images": ["mulberry_images/IconQA/5.png"],  # kept: iconqa, open answer
         "conversations": [{"from": "user", "value": "<image>\nHow many circles are there?"},
                           {"from": "assistant", "value": GOOD_NUM}]},
        {"images": ["mulberry_images/IconQA/6.png"],  # dropped: two think blocks
         "conversations": [{"from": "user", "value": "<image>\nHow many circles are there?"},
                           {"from": "assistant", "value": "<think>a</think><think>b</think><answer>3</answer>"}]},
        {"images": ["mulberry_images/IconQA/broken.png"],  # dropped: unreadable image
         "conversations": [{"from": "user", "value": "<image>\nHow many?"}, {"from": "assistant", "value": GOOD_NUM}]},
        {"images": ["mulberry_images/IconQA/5.png"],  # dropped: gold letter not among the options
         "conversations": [{"from": "user", "value": "<image>\nPick one.\nA. one\nB. two"},
                           {"from": "assistant", "value": "<think>hm</think><answer>D</answer>"}]},
        {"images": ["mulberry_images/chartqa/7.png"],  # another source
         "conversations": [{"from": "user", "value": "<image>\nValue?"},
                           {"from": "assistant", "value": "<think>x</think><answer>1</answer>"}]},
    ]
    (ROOT / "vision_r1_llava_cot_full.json").write_text(json.dumps(llava, indent=1) + "\n")
    (ROOT / "vision_r1_mulberry_sft_full.json").write_text(json.dumps(mulberry, indent=1) + "\n")


if __name__ == "__main__":
    main()
