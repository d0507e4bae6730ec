"""The live lesion figure's data: the networks that `lesion_live` exported, as a script.

`templates/static/lesion_live.js` loads `figures/lesion_live.data.js` only when the
reader reaches the figure. It is a script, not JSON, because a page opened from
file:// may not fetch() a file beside it, but may add a <script>. It holds each
network's torch.fx graph, its committed weights (base64), the fixed sample of test
images (uint8 RGB, base64), their labels, the strip the reader picks from, and
PyTorch's own answers on the sample (single-block lesions), which the figure quotes.
"""
from __future__ import annotations

import base64
import json

from lab.names import net_label as label  # resnet20 -> ResNet-20, plain20 -> plain-20

NAME = "lesion_live"
PATH = f"figures/{NAME}.data.js"




def data_js(result) -> bytes:
    """The script: one call of window.lesionLiveData with everything the figure runs."""
    import numpy as np  # here: a page without the figure loads no numpy

    d, a, m = result.data, result.arrays, result.metrics
    b64 = lambda arr: base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")  # noqa: E731
    doc = {
        "classes": d["classes"], "mean": d["mean"], "std": d["std"],
        "labels": [int(v) for v in a["labels"]], "strip": [int(v) for v in a["strip"]],
        "images": b64(np.asarray(a["images"], np.uint8)),
        "networks": [{"name": n, "label": label(n), **g, "weights": b64(a[f"{n}_weights"]),
                      "pytorch": {"sample_accuracy": m[n]["sample_accuracy"],
                                  "single_block_accuracy": d["single_block_accuracy"][n]}}
                     for n, g in sorted(d["networks"].items(), key=lambda kv: kv[0].startswith("plain"))],
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f"window.lesionLiveData&&window.lesionLiveData({text});\n".encode("utf-8")


def files(figures: dict, store, profile: str) -> dict[str, bytes]:
    """The data script, where the article places the figure and its result is stored."""
    if NAME not in figures:
        return {}
    result = store.load(NAME, profile)
    return {PATH: data_js(result)} if result is not None else {}
