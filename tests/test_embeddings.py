import numpy as np
import pytest

from qa.embeddings import NumpyEncoder, SentenceTransformerEncoder, load_encoder

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
