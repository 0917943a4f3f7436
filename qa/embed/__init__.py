"""The embedding model: NumPy, ONNX Runtime and sentence-transformers encoders, and the ONNX export."""
