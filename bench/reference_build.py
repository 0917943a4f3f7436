"""The LangChain reference build of one folder, as a command so that it is timed and measured like `qa index`:
`python bench/reference_build.py FOLDER OUT.json` writes {"chunks", "build_s"}."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference import build_reference  # noqa: E402

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
texts = [(path.stem, path.read_text(encoding="utf-8")) for path in sorted(folder.iterdir()) if path.is_file()]
_, seconds, chunks = build_reference(texts)
out.write_text(json.dumps({"chunks": chunks, "build_s": round(seconds, 2)}))
