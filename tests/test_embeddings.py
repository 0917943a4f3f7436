import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.embed.encoders import NumpyEncoder, SentenceTransformerEncoder, load_encoder

TEXTS = [
    "What imaging for low back pain with leg weakness?",
    "MRI of the cervical and/or thoracic spine is recommended if there are upper motor neuron signs. " * 8,  # > 256 pieces
    "Ein kurzer Satz auf Deutsch mit Umlauten: äöü.",
]


def test_numpy_vectors_are_normalised_and_distinguish_meaning():
    encoder = load_encoder()
    vectors = encoder.encode(["MRI of the lumbar spine", "lumbar spine magnetic resonance imaging", "the capital of France"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


@pytest.mark.slow
def test_numpy_encoder_matches_sentence_transformers():
    """The fast query encoder must compute the same function as the reference implementation."""
    reference = SentenceTransformerEncoder().encode(TEXTS)
    ours = NumpyEncoder().encode(TEXTS)
    assert np.abs(reference - ours).max() < 1e-4
    assert SentenceTransformerEncoder().count_tokens(TEXTS[1]) == NumpyEncoder().count_tokens(TEXTS[1])


def test_onnx_encoder_matches_sentence_transformers():
    """The `qa export-onnx` model under ONNX Runtime (`qa index --backend onnx`) gives the reference vectors."""
    from qa.embed.encoders import OnnxEncoder

    reference = SentenceTransformerEncoder().encode(TEXTS)
    assert np.abs(OnnxEncoder().encode(TEXTS) - reference).max() < 1e-4


def test_a_damaged_onnx_export_is_refused_with_the_fix(tmp_path):
    from qa.embed.encoders import OnnxEncoder, onnx_model_path
    from qa.errors import QAError

    truncated = tmp_path / "model.onnx"
    truncated.write_bytes(onnx_model_path().read_bytes()[:1_000_000])
    with pytest.raises(QAError, match="cannot be loaded.*qa export-onnx"):
        OnnxEncoder(onnx_path=truncated)
    with pytest.raises(QAError, match="no ONNX export .*qa export-onnx"):
        OnnxEncoder(onnx_path=tmp_path / "missing.onnx")


@pytest.mark.slow
def test_an_export_of_other_weights_is_refused(tmp_path):
    """An ONNX file that loads and runs but computes something else (here: int8-quantised weights) is caught."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.embed.encoders import OnnxEncoder, onnx_model_path
    from qa.errors import QAError

    quantised = tmp_path / "model.onnx"
    quantize_dynamic(str(onnx_model_path()), str(quantised), weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    with pytest.raises(QAError, match="does not reproduce"):
        OnnxEncoder(onnx_path=quantised)


@pytest.mark.slow
def test_export_writes_a_checked_model_and_no_leftovers(tmp_path):
    from qa.embed.encoders import OnnxEncoder
    from qa.embed.onnx_export import export_onnx

    target = export_onnx(target=tmp_path / "onnx" / "model.onnx")
    assert [p.name for p in target.parent.iterdir()] == ["model.onnx"]  # the temporary folder is gone
    np.testing.assert_allclose(OnnxEncoder(onnx_path=target).encode(TEXTS), NumpyEncoder().encode(TEXTS), atol=1e-4)


@pytest.mark.slow
def test_the_export_is_fused_and_an_older_form_is_made_again(tmp_path):
    """The export's attention is fused (what makes `qa index` faster); `qa export-onnx` tells an export of the
    older, unfused form (as an existing install has) from the present one, and makes it again."""
    import onnx

    from qa.embed.encoders import onnx_model_path
    from qa.embed.onnx_export import export_is_current

    model = onnx.load(str(onnx_model_path()))
    assert export_is_current(onnx_model_path())
    assert {"Attention", "SkipLayerNormalization"} <= {node.op_type for node in model.graph.node}
    del model.metadata_props[:]
    older = tmp_path / "model.onnx"
    onnx.save(model, str(older))
    assert not export_is_current(older)
    (tmp_path / "damaged.onnx").write_bytes(b"not a model")
    assert not export_is_current(tmp_path / "damaged.onnx")


def test_span_vectors_are_their_tokens_mean_and_text_vectors_are_unchanged():
    import numpy as np

    from qa.embed.encoders import load_encoder

    encoder = load_encoder("sentence-transformers/all-MiniLM-L6-v2", "numpy")
    texts = ["Back pain with leg weakness needs an urgent MRI. CT is the alternative.", "Neuropathy on MRI."]
    vectors, spans = encoder.encode_spans(texts, [[(0, 48), ((49, 72), (0, 8))], []])
    assert np.allclose(vectors, encoder.encode(texts), atol=1e-6)
    encoding = encoder._tokenizer.encode(texts[0])
    ids = np.array([encoding.ids]), np.ones((1, len(encoding.ids)), dtype=np.float32)
    hidden = encoder._hidden(*ids)[0]
    first = [i for i, (a, b) in enumerate(encoding.offsets) if b > a and a < 48]
    expected = hidden[first].mean(0)
    assert np.allclose(spans[0][0], expected / np.linalg.norm(expected), atol=1e-5)
    second = [i for i, (a, b) in enumerate(encoding.offsets) if b > a and (a < 72 and b > 49 or a < 8)]
    expected = hidden[second].mean(0)
    assert np.allclose(spans[0][1], expected / np.linalg.norm(expected), atol=1e-5)
    assert spans[1].shape == (0, encoder.dimension)


def test_the_int8_encoder_stays_close_to_the_weights_vectors():
    """`qa export-onnx` also writes the int8 quantisation `qa index --backend onnx-int8` embeds with (weights per
    channel, the FFN output projections in fp32): each vector within cosine 0.99 of the weights' own, and the same meaning
    told apart."""
    from qa.embed.encoders import OnnxInt8Encoder

    reference, int8 = NumpyEncoder().encode(TEXTS), OnnxInt8Encoder().encode(TEXTS)
    assert ((reference * int8).sum(axis=1) > 0.99).all()
    vectors = OnnxInt8Encoder().encode(["MRI of the lumbar spine", "lumbar spine magnetic resonance imaging", "the capital of France"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


POOL = TEXTS + [
    "Cauda equina syndrome needs urgent decompression.",
    "Metformin is the first-line drug for type 2 diabetes; " * 3,
    "Numbness",
    "Patients with sciatica and no red flags do not need imaging in the first six weeks of conservative care.",
]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=6), st.integers(1, 8))
def test_an_int8_vector_does_not_depend_on_what_is_embedded_with_it(picks, batch_size):
    """Dynamic quantisation scales activations by the range of the whole batch, so each text has a pass of its own:
    a passage gets the same vector alone, among others, or in another batch size (a document added later, or
    embedded on Ray, gets the vector a whole build gives it)."""
    encoder = load_encoder(backend="onnx-int8")
    together = encoder.encode([POOL[i] for i in picks], batch_size=batch_size)
    for row, i in enumerate(picks):
        assert np.abs(together[row] - encoder.encode([POOL[i]])[0]).max() <= 1e-6


def test_an_int8_export_that_strays_from_the_weights_is_refused(tmp_path):
    """An int8 file that loads and runs but whose vectors stray (here: one layer's weights scrambled) is refused."""
    import onnx
    from onnx import numpy_helper

    from qa.embed.encoders import OnnxInt8Encoder, onnx_int8_model_path
    from qa.errors import QAError

    model = onnx.load(str(onnx_int8_model_path()))
    for initializer in model.graph.initializer:
        array = numpy_helper.to_array(initializer)
        if array.dtype == np.int8 and array.ndim == 2:  # the first quantised weight matrix
            scrambled = np.random.default_rng(0).permutation(array.ravel()).reshape(array.shape)
            initializer.CopyFrom(numpy_helper.from_array(scrambled, initializer.name))
            break
    stray = tmp_path / "model.int8.onnx"
    onnx.save(model, str(stray))
    with pytest.raises(QAError, match="strays from .*qa export-onnx"):
        OnnxInt8Encoder(onnx_path=stray)
