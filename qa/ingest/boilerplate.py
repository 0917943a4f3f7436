"""Page furniture in scraped pages: site navigation, government banners, personalisation prompts,
review-status banners, disclaimers and calls to action, matched as whole lines."""

from __future__ import annotations

import re
from typing import Callable

# Whole lines that are page furniture, matched case-insensitively after stripping.
BOILERPLATE_LINES = [
    r"skip to main (page )?content",
    r"u\.s\. flag",
    r"an official website of the united states government",
    r"dot gov",
    r"the \.gov means it.s official\.?",
    r"federal government websites often end in \.gov or \.mil\..*",
    r"https",
    r"the site is secure\.?",
    r"the https:// ensures that you are connecting to the official website.*",
    r"access keys .*",
    r"affiliations",
    r"medical advisory board.*reviewed for accuracy.*",
    r"educational purpose only.*",
    r"article review status",
    r"submitted",
    r"under review",
    r"approved",
    r"personali[sz]e",
    r"help us tailor your experience",
    r"which best describes you\?.*",
    r"pubmed disclaimer",
    r"figure",
    r"view editorial policy",
    r"(full text links|cite|share|save|email|send to|display options|actions)",
]
_BOILERPLATE = re.compile(r"^(?:" + "|".join(BOILERPLATE_LINES) + r")$", re.IGNORECASE)

# A heading whose block is dropped together with the paragraphs up to the next heading.
DROP_BLOCK_HEADINGS = re.compile(
    r"^(professional medical disclaimer|medical disclaimer|disclaimer|have a follow-up question\?)$", re.IGNORECASE
)
# A heading after which nothing is content (PubMed's trailing panels).
DROP_REST_HEADINGS = re.compile(
    r"^(publication types|mesh terms|substances|related information|linkout - more resources|similar articles|cited by)$",
    re.IGNORECASE,
)
_SUFFIX_NOISE = re.compile(r"(View editorial policy|\s+- PubMed|\s+- PMC|\s+- DOI)$")


def drop_boilerplate(lines: list[str], is_heading: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """The lines kept (blank ones as ""), and the non-blank lines dropped as page furniture. A dropped block
    (a disclaimer) ends at the next line ``is_heading`` accepts."""
    kept: list[str] = []
    dropped: list[str] = []
    skipping_block = False
    for number, line in enumerate(lines):
        stripped = _SUFFIX_NOISE.sub("", line.strip()).strip()
        if DROP_REST_HEADINGS.match(stripped):
            dropped += [rest.strip() for rest in lines[number:] if rest.strip()]
            break
        if DROP_BLOCK_HEADINGS.match(stripped):
            skipping_block = True
            dropped.append(stripped)
            continue
        if skipping_block:
            if stripped and is_heading(stripped) and not DROP_BLOCK_HEADINGS.match(stripped):
                skipping_block = False
            else:
                if stripped:
                    dropped.append(stripped)
                continue
        if _BOILERPLATE.match(stripped):
            dropped.append(stripped)
            continue
        # Orphan punctuation left where a link was removed: ". 2015 Jul;52(1):137-9."
        stripped_line = re.sub(r"^\.\s+(?=\d)", "", line.strip())
        indent = line[: len(line) - len(line.lstrip())]
        kept.append(indent + _SUFFIX_NOISE.sub("", stripped_line) if stripped else "")
    return kept, dropped
